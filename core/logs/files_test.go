package logs

import "testing"

func TestParseFileName(t *testing.T) {
	cases := []struct {
		base   string
		ok     bool
		name   string
		stream Stream
		seq    int64
	}{
		{"api-out.log", true, "api", Out, seqCurrent},
		{"api-err.000042.log", true, "api", Err, 42},
		{"api-out.000007.log.gz", true, "api", Out, 7},
		{"api.v2-out.log", true, "api.v2", Out, seqCurrent},
		{"api.v2-err.000003.log", true, "api.v2", Err, 3},
		{"my.app.v1-out.000001.log.gz", true, "my.app.v1", Out, 1},
		{"api-out.log.gz", false, "", 0, 0}, // the current file is never compressed
		{"api-out.x.log", false, "", 0, 0},
		{"api.log", false, "", 0, 0},
		{"notes.txt", false, "", 0, 0},
	}
	for _, c := range cases {
		e, ok := parseFileName(c.base)
		if ok != c.ok || (ok && (e.name != c.name || e.stream != c.stream || e.seq != c.seq)) {
			t.Errorf("parseFileName(%q) = %+v, %v; want name %q stream %v seq %d ok %v", c.base, e, ok, c.name, c.stream, c.seq, c.ok)
		}
	}
}
