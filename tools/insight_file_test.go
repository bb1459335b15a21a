package tools

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLeadingTime(t *testing.T) {
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	local := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, time.Local)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, c := range []struct {
		line string
		want time.Time // zero: no stamp
	}{
		{"2024-01-02T10:05:03Z ERROR x", utc("2024-01-02T10:05:03Z")},
		{"2024-01-02T10:05:03.123456+02:00 INFO x", utc("2024-01-02T08:05:03.123456Z")},
		{"2024-01-02 10:05:03,250 WARN [main] x", local("2024-01-02 10:05:03.25")},
		{"[2024-01-02 10:05:03] production.ERROR: x", local("2024-01-02 10:05:03")},
		{"2024/01/02 10:05:03 listening", local("2024-01-02 10:05:03")},
		{"2024-01-02 10:05:03.5 +0100 x", utc("2024-01-02T09:05:03.5Z")},
		{"Jan  2 10:05:03 host sshd[42]: x", local("2024-01-02 10:05:03")},
		{"    at connect (/app/db.js:42:9)", time.Time{}},
		{"ERROR 2024-01-02 10:05:03 not leading", time.Time{}},
		{"20240102 100503 compact", time.Time{}},
		{"", time.Time{}},
	} {
		got, ok := leadingTime(c.line, 2024)
		if ok != !c.want.IsZero() || ok && !got.Equal(c.want) {
			t.Errorf("leadingTime(%q) = %v, %v; want %v", c.line, got, ok, c.want)
		}
	}
}

// TestPerLinePastTheMinersBound: more distinct messages than the miner
// keeps; every line still gets its template, in order, through the ids
// file and the re-masking of lines whose message was evicted.
func TestPerLinePastTheMinersBound(t *testing.T) {
	const n = 25000 // above insight.MinerConfig's default MaxMessages
	word := func(i int) string {
		b := []byte{}
		for i++; i > 0; i /= 26 {
			b = append(b, byte('a'+i%26))
		}
		return string(b)
	}
	var sb strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "job %s finished\n", word(i))
	}
	path := filepath.Join(t.TempDir(), "many.log")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := minePerLine(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ts, more, err := p.templates(context.Background(), -1)
	if err != nil || more || len(ts) != n {
		t.Fatalf("%d templates, more %v, err %v", len(ts), more, err)
	}
	for i, lt := range ts {
		if lt.Line != i+1 || lt.Template != "job <*> finished" {
			t.Fatalf("row %d: %+v", i, lt)
		}
	}
}
