package insight

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/velos-pm/velos/internal/loghub"
)

var t0 = time.Date(2024, 1, 2, 10, 0, 0, 0, time.UTC)

// genLog returns a log with known counts: 3600 info lines (one a second
// for an hour), errors every 20 s (180) and warnings every 60 s (60).
func genLog() []Line {
	var ls []Line
	for s := 0; s < 3600; s++ {
		t := t0.Add(time.Duration(s) * time.Second)
		ls = append(ls, Line{t, "out", fmt.Sprintf("2024-01-02T10:%02d:%02dZ INFO GET /api/users/%d 200 %dms", s/60, s%60, s%97, s%13)})
		if s%20 == 0 {
			ls = append(ls, Line{t, "err", fmt.Sprintf(`{"level":50,"time":%d,"msg":"Connection refused","addr":"10.0.0.%d:5432"}`, t.UnixMilli(), s%7)})
		}
		if s%60 == 30 {
			ls = append(ls, Line{t, "out", fmt.Sprintf("WARN slow query took %dms on table users", 500+s%300)})
		}
	}
	return ls
}

func TestAnalyzerCounts(t *testing.T) {
	d := Summarize(genLog(), Options{Source: "api"})
	if d.Lines != 3600+180+60 || d.Events != d.Lines {
		t.Errorf("lines %d events %d, want %d", d.Lines, d.Events, 3600+180+60)
	}
	if d.Errors != 180 || d.Warnings != 60 {
		t.Errorf("errors %d warnings %d, want 180 and 60", d.Errors, d.Warnings)
	}
	if d.Levels["info"] != 3600 {
		t.Errorf("info = %d, want 3600", d.Levels["info"])
	}
	want := map[string]int{
		"GET <*>":                            3600,
		"Connection refused":                 180,
		"slow query took <*> on table users": 60,
	}
	if len(d.TopPatterns) != len(want) {
		t.Errorf("patterns = %+v, want %d", d.TopPatterns, len(want))
	}
	for _, p := range d.TopPatterns {
		if want[p.Template] != p.Count {
			t.Errorf("pattern %q count %d, want %d", p.Template, p.Count, want[p.Template])
		}
	}
	if len(d.TopErrors) != 2 || d.TopErrors[0].Count != 180 || d.TopErrors[0].Text != "Connection refused" {
		t.Fatalf("top errors = %+v", d.TopErrors)
	}
	got := d.TopErrors[0].String()
	if wantS := "[ERROR] Connection refused (x180, first: 10:00:00, last: 10:59:40)"; got != wantS {
		t.Errorf("row = %q, want %q", got, wantS)
	}
	if d.LastError == nil || d.LastError.Message != "Connection refused" || !d.LastError.Time.Equal(t0.Add(3580*time.Second)) {
		t.Errorf("last error = %+v", d.LastError)
	}
	if len(d.Anomalies) != 0 {
		t.Errorf("steady log flagged: %+v", d.Anomalies)
	}
	if _, err := json.Marshal(d); err != nil {
		t.Fatalf("digest is not JSON-friendly: %v", err)
	}
}

func TestDedupeRows(t *testing.T) {
	a := NewAnalyzer(Options{})
	for i := 0; i < 10847; i++ {
		a.Add(Line{t0.Add(time.Duration(i) * 200 * time.Millisecond), "out", fmt.Sprintf("ERROR dial tcp 10.0.%d.%d:5432: connection refused after %dms", i%3, i%250, i%1000)})
	}
	for i := 0; i < 5; i++ {
		a.Add(Line{t0, "out", fmt.Sprintf(`INFO user "u%d" logged in`, i)})
		a.Add(Line{t0, "out", fmt.Sprintf(`INFO user "bob-%s" logged in`, strings.Repeat("x", i))})
	}
	a.Flush()
	rows := a.Rows(0)
	if len(rows) != 2 {
		t.Fatalf("rows = %+v, want 2", rows)
	}
	if rows[0].Count != 10847 || rows[0].Level != LevelError || rows[1].Count != 10 {
		t.Errorf("rows = %+v", rows)
	}
	if s := rows[0].String(); s != "[ERROR] dial tcp <*>: connection refused after <*> (x10847, first: 10:00:00, last: 10:36:09)" {
		t.Errorf("String() = %q", s)
	}
}

func TestDedupeBounded(t *testing.T) {
	a := NewAnalyzer(Options{MaxRows: 100, Miner: MinerConfig{MaxTemplates: 50}})
	for i := 0; i < 20000; i++ {
		// Every line a distinct word: worst case for both caps.
		a.Add(Line{t0, "out", fmt.Sprintf("event %s happened %s", word(i), word(i*7))})
	}
	a.Flush()
	if n := len(a.Rows(0)); n > 100 {
		t.Errorf("rows = %d, want <= 100", n)
	}
	if n := a.miner.Len(); n > 50 {
		t.Errorf("templates = %d, want <= 50", n)
	}
}

func word(i int) string {
	b := []byte{}
	for ; i > 0 || len(b) == 0; i /= 26 {
		b = append(b, byte('a'+i%26))
	}
	return string(b)
}

// spikeLog: one error a minute for 30 minutes, then 50 in minute 30, then
// back to one a minute for 10 minutes; info lines keep time moving.
func spikeLog(spike bool) []Line {
	var ls []Line
	for m := 0; m < 40; m++ {
		base := t0.Add(time.Duration(m) * time.Minute)
		for s := 0; s < 60; s += 5 {
			ls = append(ls, Line{base.Add(time.Duration(s) * time.Second), "out", fmt.Sprintf("INFO request %d ok", m*60+s)})
		}
		n := 1
		if spike && m == 30 {
			n = 50
		}
		for k := 0; k < n; k++ {
			ls = append(ls, Line{base.Add(time.Duration(k) * time.Second), "err", fmt.Sprintf("ERROR payment %d failed: card declined", k)})
		}
	}
	return ls
}

func TestAnomalySpike(t *testing.T) {
	d := Summarize(spikeLog(true), Options{Source: "pay"})
	var spikes []Anomaly
	for _, a := range d.Anomalies {
		if a.Kind == KindErrorSpike {
			spikes = append(spikes, a)
		}
	}
	if len(spikes) != 1 {
		t.Fatalf("spikes = %+v, want exactly one", d.Anomalies)
	}
	s := spikes[0]
	if !s.Start.Equal(t0.Add(30*time.Minute)) || !s.End.Equal(t0.Add(31*time.Minute)) || s.Count != 50 || s.Source != "pay" {
		t.Errorf("spike = %+v, want minute 10:30 with 50", s)
	}
	if len(s.Patterns) == 0 || s.Patterns[0].Template != "payment <*> failed: card declined" || s.Patterns[0].Count != 50 {
		t.Errorf("spike patterns = %+v", s.Patterns)
	}
	if s.Baseline != 1 {
		t.Errorf("baseline = %v, want 1", s.Baseline)
	}
}

func TestAnomalySteady(t *testing.T) {
	d := Summarize(spikeLog(false), Options{})
	if len(d.Anomalies) != 0 {
		t.Errorf("steady log flagged: %+v", d.Anomalies)
	}
	if d.Errors != 40 {
		t.Errorf("errors = %d, want 40", d.Errors)
	}
}

func TestAnomalyNewError(t *testing.T) {
	ls := spikeLog(false)
	ls = append(ls, Line{t0.Add(41 * time.Minute), "out", "FATAL disk /data is read-only"})
	d := Summarize(ls, Options{})
	if len(d.Anomalies) != 1 || d.Anomalies[0].Kind != KindNewError || d.Anomalies[0].Example != "disk /data is read-only" {
		t.Errorf("anomalies = %+v, want one new_error", d.Anomalies)
	}
}

func TestDigestLastErrorLocation(t *testing.T) {
	ls := []Line{
		{t0, "out", "server started"},
		{t0.Add(time.Second), "err", "Error: connect ECONNREFUSED 127.0.0.1:5432"},
		{t0.Add(time.Second), "err", "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)"},
		{t0.Add(time.Second), "err", "    at Pool.connect (/app/src/db.js:42:11)"},
	}
	d := Summarize(ls, Options{})
	if d.LastError == nil {
		t.Fatal("no last error")
	}
	if got := d.LastError.String(); got != "Error: connect ECONNREFUSED 127.0.0.1:5432 at db.js:42" {
		t.Errorf("last error = %q", got)
	}
	if d.Errors != 1 || d.Events != 2 || d.Lines != 4 {
		t.Errorf("errors %d events %d lines %d", d.Errors, d.Events, d.Lines)
	}
}

// TestDedupeKeyIsMask: the Analyzer masks a line once for the miner and
// again for dedupe only when the miner kept a key=value word; the key must
// be Mask's either way.
func TestDedupeKeyIsMask(t *testing.T) {
	lines := []string{"user=root uid=0 ruser= tty=NODEVssh", "a=1 b=x:1 c=(y) d=", "k==v", "x=<y> z=<memory:1024, vCores:-2>",
		"p=/tmp/x q=1,2", "headroom=<memory:0, vCores:-27>", "GET /a?id=7 took 3ms", `msg="x=1" level=info`, "plain words only"}
	if sets, err := loghub.Load(loghub.Dir()); err == nil {
		for _, s := range sets {
			lines = append(lines, s.Contents...)
		}
	}
	for _, l := range lines {
		key := appendMinable(nil, l)
		if keepsWordValue(key) {
			key, _ = appendMasked(nil, l)
		}
		if string(key) != Mask(l) {
			t.Errorf("%q: dedupe key %q, Mask %q", l, key, Mask(l))
		}
	}
}
