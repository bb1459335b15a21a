package insight

import (
	"strings"
	"testing"
	"time"
)

func groupAll(lines []string) []Event {
	var g Grouper
	var out []Event
	t0 := time.Date(2024, 1, 2, 10, 0, 0, 0, time.UTC)
	for _, l := range lines {
		if ev, ok := g.Add(Line{Time: t0, Stream: "err", Text: l}); ok {
			out = append(out, ev)
		}
	}
	return append(out, g.Flush()...)
}

func TestGrouper(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		heads   []string
		message string // of the first event
		loc     string // of the first event
	}{
		{"java", "2024-01-02 10:05:03 ERROR c.a.Db - query failed\njava.lang.IllegalStateException: boom\n\tat com.acme.Db.query(Db.java:42)\n\tat com.acme.App.main(App.java:10)\nCaused by: java.net.ConnectException: refused\n\tat java.base/sun.nio.ch.Net.connect(Net.java:579)\n\t... 5 more\n2024-01-02 10:05:04 INFO c.a.App - next",
			[]string{"2024-01-02 10:05:03 ERROR c.a.Db - query failed", "2024-01-02 10:05:04 INFO c.a.App - next"}, "2024-01-02 10:05:03 ERROR c.a.Db - query failed", "Db.java:42"},
		{"python", "Traceback (most recent call last):\n  File \"/app/main.py\", line 10, in <module>\n    run()\n  File \"/app/db.py\", line 42, in run\n    connect()\nConnectionRefusedError: [Errno 111] Connection refused\nINFO:root:after",
			[]string{"Traceback (most recent call last):", "INFO:root:after"}, "ConnectionRefusedError: [Errno 111] Connection refused", "db.py:42"},
		{"python chained", "Traceback (most recent call last):\n  File \"a.py\", line 1, in f\nKeyError: 'x'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"b.py\", line 2, in g\nValueError: bad\nnext line",
			[]string{"Traceback (most recent call last):", "next line"}, "ValueError: bad", "b.py:2"},
		{"node", "Error: connect ECONNREFUSED 127.0.0.1:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)\n    at Object.connect (/app/db.js:42:11)\nlistening",
			[]string{"Error: connect ECONNREFUSED 127.0.0.1:5432", "listening"}, "Error: connect ECONNREFUSED 127.0.0.1:5432", "db.js:42"},
		{"go panic", "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1]\n\ngoroutine 1 [running]:\nmain.(*Server).handle(0x0)\n\t/app/server.go:27 +0x1d\nmain.main()\n\t/app/main.go:12 +0x25\nexit status 2\nrestarted",
			[]string{"panic: runtime error: invalid memory address or nil pointer dereference", "restarted"}, "panic: runtime error: invalid memory address or nil pointer dereference", "server.go:27"},
		{"single lines", "a\nb\nc", []string{"a", "b", "c"}, "a", ""},
		{"single line location", "ECONNREFUSED at db.js:42", []string{"ECONNREFUSED at db.js:42"}, "ECONNREFUSED at db.js:42", "db.js:42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := groupAll(strings.Split(tt.in, "\n"))
			var heads []string
			for _, e := range evs {
				heads = append(heads, e.Head)
			}
			if strings.Join(heads, "|") != strings.Join(tt.heads, "|") {
				t.Fatalf("heads = %q, want %q", heads, tt.heads)
			}
			if got := evs[0].Message(); got != tt.message {
				t.Errorf("Message() = %q, want %q", got, tt.message)
			}
			if got := evs[0].Location(); got != tt.loc {
				t.Errorf("Location() = %q, want %q", got, tt.loc)
			}
		})
	}
}

func TestGrouperGapAndStreams(t *testing.T) {
	var g Grouper
	t0 := time.Date(2024, 1, 2, 10, 0, 0, 0, time.UTC)
	g.Add(Line{Time: t0, Stream: "err", Text: "Error: x"})
	g.Add(Line{Time: t0, Stream: "out", Text: "hello"})
	if _, ok := g.Add(Line{Time: t0, Stream: "err", Text: "    at f (/a.js:1:1)"}); ok {
		t.Fatal("a stderr frame must continue the stderr event despite stdout in between")
	}
	ev, ok := g.Add(Line{Time: t0.Add(time.Minute), Stream: "err", Text: "    indented later"})
	if !ok || len(ev.More) != 1 {
		t.Fatalf("a line after a long gap must start a new event, got ok=%v ev=%+v", ok, ev)
	}
}
