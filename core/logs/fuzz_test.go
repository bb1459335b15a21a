package logs

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/velos-pm/velos/internal/fuzzcheck"
)

// fuzzRecords is a well-formed log file of n records from base, for seeds.
func fuzzRecords(base time.Time, texts ...string) []byte {
	var st stamper
	var b []byte
	for i, t := range texts {
		b = st.append(b, base.Add(time.Duration(i)*time.Millisecond).UnixNano())
		sep := byte(sepLine)
		if strings.HasPrefix(t, "+") {
			sep, t = sepCont, t[1:]
		}
		b = append(b, sep)
		b = append(b, t...)
		b = append(b, '\n')
	}
	return b
}

// FuzzLogFile reads arbitrary bytes as a log file: a file from another
// program, edited by hand or torn by a crash must never make a query panic
// or loop. Every query returns whole records inside its time bounds; paging
// with the cursor ends; on a well-formed file (stamps strictly increasing)
// the pages add up to the whole file; and a line appended after opening the
// file is read back as the last line (a torn last record is closed first).
func FuzzLogFile(f *testing.F) {
	base := testBase
	f.Add(fuzzRecords(base, "GET /health 200", "", "second", "+continued"), int64(0), int64(0))
	f.Add(fuzzRecords(base, "a", "b", "c", "d", "e", "f"), int64(2e6), int64(4e6))
	torn := fuzzRecords(base, "one", "two")
	f.Add(torn[:len(torn)-5], int64(1), int64(0))
	f.Add(append([]byte("not a log line\n\n"), fuzzRecords(base, "x", "y")...), int64(0), int64(1e6))
	f.Add([]byte("2026-02-31T25:00:00.000000000Z x\n2026-11-27T01:26:31.123456789Z+y\n"), int64(-1), int64(-1))
	f.Add(bytes.Repeat([]byte("9"), 200), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, data []byte, since, until int64) {
		defer fuzzcheck.PerInput(10 * time.Second)()
		dir := t.TempDir()
		if err := os.WriteFile(currentPath(dir, "api", Out), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		check := func(what string, q Query) Result {
			q.Names, q.Streams = []string{"api"}, Out
			res, err := s.Query(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			for _, l := range res.Lines {
				if strings.IndexByte(l.Text, '\n') >= 0 {
					t.Fatalf("%s: a line holds a newline: %q", what, l.Text)
				}
				ts := l.Time.UnixNano()
				if !q.Since.IsZero() && ts < q.Since.UnixNano() || !q.Until.IsZero() && ts >= q.Until.UnixNano() {
					t.Fatalf("%s: line at %d outside [%v, %v)", what, ts, q.Since.UnixNano(), q.Until.UnixNano())
				}
			}
			return res
		}
		records := bytes.Count(data, []byte{'\n'})
		if got := check("last lines", Query{}).Lines; len(got) > DefaultLines {
			t.Fatalf("last lines: %d lines", len(got))
		}
		all := check("all", Query{Lines: -1, MaxLines: -1, MaxBytes: -1}).Lines
		if len(all) > records {
			t.Fatalf("%d lines from %d newlines", len(all), records)
		}
		ordered := true
		for i := 1; i < len(all); i++ {
			ordered = ordered && all[i].Time.After(all[i-1].Time)
		}
		var q Query
		if since != 0 {
			q.Since = time.Unix(0, base.UnixNano()+since)
		}
		if until != 0 {
			q.Until = time.Unix(0, base.UnixNano()+until)
		}
		if q.Since.IsZero() && q.Until.IsZero() {
			q.Since = base
		}
		q.Lines = -1
		check("range", q)
		q.Lines = 3
		check("last 3 in range", q)

		// Paging two lines at a time ends, and on a well-formed file gives
		// every line once.
		var paged []Line
		pq := Query{Lines: -1, MaxLines: 2}
		for pages := 0; ; pages++ {
			if pages > records+2 {
				t.Fatalf("paging did not end after %d pages", pages)
			}
			res := check("page", pq)
			paged = append(paged, res.Lines...)
			if !res.Truncated {
				break
			}
			pq.Cursor = res.Cursor
		}
		if ordered && len(paged) != len(all) {
			t.Fatalf("pages gave %d lines, one query %d", len(paged), len(all))
		}

		// A new line lands after whatever a well-formed file held — one
		// whose lines are not stamped later than now, when the new one is.
		if len(all) > 0 && all[len(all)-1].Time.After(time.Now()) {
			ordered = false
		}
		done := s.Attach("api", Out, strings.NewReader("velos-fuzz-appended\n"), nil)
		<-done
		last := check("after append", Query{Lines: 1}).Lines
		if ordered && (len(last) != 1 || last[0].Text != "velos-fuzz-appended") {
			t.Fatalf("after append, the last line is %+v", last)
		}
	})
}

// FuzzParseTime reads arbitrary --since/--until text: no panic, and an age
// ("30m", "2d") never lands after now.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-01-15", "2024-01-15 10:00", "2024-01-15 10:00:05.123", "2024-01-15T10:00:05Z",
		"2024-01-15T10:00:05.5+02:00", "10:00", "09:30:15", "30s", "1h30m", "2d", "1.5w", "-5m", "NaNd", "1e300d", "Infw", "25:00"} {
		f.Add(s)
	}
	now := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		defer fuzzcheck.PerInput(10 * time.Second)()
		got, err := ParseTime(s, now)
		if err != nil {
			return
		}
		if d, ok := parseAgo(strings.TrimSpace(s)); ok {
			if d < 0 || got.After(now) {
				t.Fatalf("ParseTime(%q) = %v: an age of %v after now %v", s, got, d, now)
			}
		}
	})
}
