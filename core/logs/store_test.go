package logs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// A real child writes 1,000,000 numbered lines as fast as it can: every line
// is in the files, in order, once, across several rotations (some files
// gzipped while the child is still writing).
func TestMillionLinesFromChild(t *testing.T) {
	const n = 1_000_000
	s := openStore(t, Options{MaxSize: 1 << 20, Keep: 1000, Gzip: true})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), producerEnv+"="+strconv.Itoa(n))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := s.Attach("prod", Out, out, nil)
	<-done
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}

	files, _ := filepath.Glob(filepath.Join(s.opts.Dir, "prod-out.*"))
	if len(files) < 4 { // the current file and at least 3 rotated ones
		t.Fatalf("want ≥ 3 rotations, files: %v", files)
	}
	lines := queryAll(t, s, Query{Names: []string{"prod"}})
	if len(lines) != n {
		t.Fatalf("got %d lines, want %d", len(lines), n)
	}
	var prev time.Time
	for i, l := range lines {
		if l.Text != strconv.Itoa(i+1) {
			t.Fatalf("line %d: got %q", i, l.Text)
		}
		if !l.Time.After(prev) {
			t.Fatalf("line %d: stamp %v not after %v", i, l.Time, prev)
		}
		prev = l.Time
	}
	s.comp.wait()
	gz, _ := filepath.Glob(filepath.Join(s.opts.Dir, "prod-out.*.log.gz"))
	if len(gz) < 3 {
		t.Fatalf("want gzipped rotated files, got %v", gz)
	}
	if again := queryAll(t, s, Query{Names: []string{"prod"}}); len(again) != n || again[n-1].Text != strconv.Itoa(n) {
		t.Fatalf("after compression: %d lines", len(again))
	}
}

var recordRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z[ +]`)

// Awkward input round-trips as documented: "\r\n" ends a line (the "\r" is
// dropped), a lone "\r" is kept, invalid UTF-8 and ANSI codes are kept as
// bytes, a 200 KiB line becomes records of MaxLineBytes whose later ones
// are marked as continuations, and a last line without newline is kept.
func TestRoundTrip(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 200<<10/16)
	input := "crlf\r\n" + "lone\rcr\n" + "\xff\xfe bad utf8\n" + "\x1b[31mred\x1b[0m\n" + "\n" + long + "\n" + "after\n" + "partial"
	for name, r := range map[string]func() *strings.Reader{
		"whole": func() *strings.Reader { return strings.NewReader(input) },
	} {
		for _, wrap := range []struct {
			name string
			f    func(*strings.Reader) interface{ Read([]byte) (int, error) }
		}{
			{"plain", func(r *strings.Reader) interface{ Read([]byte) (int, error) } { return r }},
			{"onebyte", func(r *strings.Reader) interface{ Read([]byte) (int, error) } { return iotest.OneByteReader(r) }},
			{"half", func(r *strings.Reader) interface{ Read([]byte) (int, error) } { return iotest.HalfReader(r) }},
		} {
			t.Run(name+"/"+wrap.name, func(t *testing.T) {
				s := openStore(t, Options{})
				writeAll(t, s, "app", Out, wrap.f(r()), nil)
				got := queryAll(t, s, Query{Names: []string{"app"}})
				want := []struct {
					text string
					cont bool
				}{
					{"crlf", false}, {"lone\rcr", false}, {"\xff\xfe bad utf8", false},
					{"\x1b[31mred\x1b[0m", false}, {"", false},
					{long[:MaxLineBytes], false}, {long[MaxLineBytes : 2*MaxLineBytes], true},
					{long[2*MaxLineBytes : 3*MaxLineBytes], true}, {long[3*MaxLineBytes:], true},
					{"after", false}, {"partial", false},
				}
				if len(got) != len(want) {
					t.Fatalf("got %d lines, want %d", len(got), len(want))
				}
				var joined strings.Builder
				for i, w := range want {
					if got[i].Text != w.text || got[i].Continued != w.cont {
						t.Errorf("line %d: got %.40q cont=%v, want %.40q cont=%v", i, got[i].Text, got[i].Continued, w.text, w.cont)
					}
					if i >= 5 && i <= 8 {
						joined.WriteString(got[i].Text)
					}
				}
				if joined.String() != long {
					t.Error("continuation records do not rebuild the long line")
				}
				raw, err := os.ReadFile(filepath.Join(s.opts.Dir, "app-out.log"))
				if err != nil {
					t.Fatal(err)
				}
				recs := bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))
				if len(recs) != len(want) {
					t.Fatalf("file has %d records, want %d", len(recs), len(want))
				}
				for i, rec := range recs {
					if !recordRE.Match(rec) {
						t.Errorf("record %d: bad format %.50q", i, rec)
					}
				}
				if !bytes.Contains(raw, []byte("\x1b[31mred")) || !bytes.Contains(raw, []byte("\xff\xfe bad")) {
					t.Error("raw bytes not kept in the file")
				}
			})
		}
	}
}

// Lines stamped at known times (one clock call per record) come back
// exactly for [Since, Until), across rotated plain and gzipped files.
func TestSinceUntilAcrossRotatedFiles(t *testing.T) {
	const n = 20000
	clk := &fakeClock{base: testBase, step: time.Second}
	s := openStore(t, Options{Now: clk.Now, MaxSize: 32 << 10, Keep: 1000, Gzip: true})
	writeAll(t, s, "api", Out, &lineReader{numbered(0, n)}, nil)
	s.comp.wait()
	gz, _ := filepath.Glob(filepath.Join(s.opts.Dir, "api-out.*.log.gz"))
	if len(gz) < 10 {
		t.Fatalf("want many gzipped files, got %d", len(gz))
	}
	// The one-clock-call-per-read contract the test relies on.
	if got := clk.n.Load(); got != n {
		t.Fatalf("clock called %d times for %d reads", got, n)
	}
	cases := [][2]int{{0, n}, {1234, 5678}, {0, 1}, {n - 1, n}, {777, 778}, {5000, 5000}, {19990, 30000}, {-5, 3}}
	for _, c := range cases {
		q := Query{Names: []string{"api"}, Since: clk.at(c[0]), Until: clk.at(c[1])}
		got := queryAll(t, s, q)
		lo, hi := max(c[0], 0), min(c[1], n)
		if len(got) != max(hi-lo, 0) {
			t.Fatalf("range %v: got %d lines, want %d", c, len(got), hi-lo)
		}
		for i, l := range got {
			if want := "line " + strconv.Itoa(lo+i); l.Text != want || !l.Time.Equal(clk.at(lo+i)) {
				t.Fatalf("range %v line %d: got %q at %v", c, i, l.Text, l.Time)
			}
		}
	}
	// Since only, with a "last N" count inside the range.
	got := queryAll(t, s, Query{Names: []string{"api"}, Since: clk.at(100), Until: clk.at(200), Lines: 10})
	if len(got) != 10 || got[0].Text != "line 190" || got[9].Text != "line 199" {
		t.Fatalf("last 10 of range: %v", got)
	}
	// Default: the last 15 lines.
	res, err := s.Query(context.Background(), Query{Names: []string{"api"}})
	if err != nil || len(res.Lines) != DefaultLines || res.Lines[14].Text != "line 19999" {
		t.Fatalf("default tail: %v %v", res.Lines, err)
	}
}

// Two processes and both streams merge by time; grep, level and stream
// filters apply.
func TestMergeAndFilters(t *testing.T) {
	clk := &fakeClock{base: testBase, step: time.Millisecond}
	s := openStore(t, Options{Now: clk.Now})
	// Interleave writes of three sources so their stamps interleave.
	for i := 0; i < 30; i++ {
		switch i % 3 {
		case 0:
			writeAll(t, s, "web", Out, strings.NewReader("web "+strconv.Itoa(i)+" INFO ok\n"), nil)
		case 1:
			writeAll(t, s, "web", Err, strings.NewReader("web "+strconv.Itoa(i)+" WARN slow\n"), nil)
		case 2:
			writeAll(t, s, "worker", Out, strings.NewReader("worker "+strconv.Itoa(i)+" ERROR boom\n"), nil)
		}
	}
	all := queryAll(t, s, Query{Names: []string{"all"}})
	if len(all) != 30 {
		t.Fatalf("got %d lines", len(all))
	}
	for i, l := range all {
		if !strings.Contains(l.Text, " "+strconv.Itoa(i)+" ") {
			t.Fatalf("merge order: line %d is %q", i, l.Text)
		}
	}
	if got := queryAll(t, s, Query{Names: []string{"web"}, Streams: Err}); len(got) != 10 || got[0].Stream != Err {
		t.Fatalf("stream filter: %d", len(got))
	}
	if got := queryAll(t, s, Query{Grep: regexp.MustCompile(`^worker [12]`)}); len(got) != 8 {
		t.Fatalf("grep: %d", len(got))
	}
	if got := queryAll(t, s, Query{Levels: []string{"error", "warn"}}); len(got) != 20 {
		t.Fatalf("levels: %d", len(got))
	}
	custom := func(l Line) string { return map[bool]string{true: "x", false: "y"}[strings.HasPrefix(l.Text, "web 3")] }
	if got := queryAll(t, s, Query{Levels: []string{"x"}, Classify: custom}); len(got) != 1 {
		t.Fatalf("custom classifier: %d", len(got))
	}
	res, err := s.Query(context.Background(), Query{Lines: 4})
	if err != nil || len(res.Lines) != 4 || !strings.HasPrefix(res.Lines[3].Text, "worker 29") || !strings.HasPrefix(res.Lines[0].Text, "worker 26") {
		t.Fatalf("merged tail: %v %v", res.Lines, err)
	}
	if names, _ := s.Names(); strings.Join(names, ",") != "web,worker" {
		t.Fatalf("names: %v", names)
	}
}

// A 100k-line log read with a MaxLines or MaxBytes bound comes in pages
// that hold at most the bound; their cursors chain without gap or repeat.
func TestCursorPaging(t *testing.T) {
	const n = 100_000
	clk := &fakeClock{base: testBase, step: time.Microsecond}
	s := openStore(t, Options{Now: clk.Now, MaxSize: 512 << 10, Keep: 100, Gzip: true})
	writeAll(t, s, "big", Out, &lineReader{numbered(0, n)}, nil)
	s.comp.wait()

	page := func(q Query, limit int, unit func(Line) int) []Line {
		var out []Line
		for pages := 0; ; pages++ {
			res, err := s.Query(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			sum := 0
			for _, l := range res.Lines {
				sum += unit(l)
			}
			if sum > limit {
				t.Fatalf("page %d: %d over the bound %d", pages, sum, limit)
			}
			out = append(out, res.Lines...)
			if !res.Truncated {
				return out
			}
			if len(res.Lines) == 0 || res.Cursor == "" {
				t.Fatal("truncated page without lines or cursor")
			}
			q.Cursor = res.Cursor
		}
	}
	check := func(name string, got []Line, from, to int) {
		t.Helper()
		if len(got) != to-from {
			t.Fatalf("%s: got %d lines, want %d", name, len(got), to-from)
		}
		for i, l := range got {
			if l.Text != "line "+strconv.Itoa(from+i) {
				t.Fatalf("%s: line %d is %q", name, i, l.Text)
			}
		}
	}
	one := func(Line) int { return 1 }
	check("max lines", page(Query{Names: []string{"big"}, Lines: -1, MaxLines: 7000}, 7000, one), 0, n)
	check("max bytes", page(Query{Names: []string{"big"}, Lines: -1, MaxBytes: 100_000}, 100_000, func(l Line) int { return len(l.Text) }), 0, n)
	check("last N", page(Query{Names: []string{"big"}, Lines: 25_000, MaxLines: 10_000}, 10_000, one), n-25_000, n)
	check("range", page(Query{Names: []string{"big"}, Since: clk.at(10_000), Until: clk.at(20_000), MaxLines: 3000}, 3000, one), 10_000, 20_000)

	res, err := s.Query(context.Background(), Query{Names: []string{"big"}, Lines: 5, MaxLines: 3})
	if err != nil || len(res.Lines) != 3 || !res.Truncated {
		t.Fatalf("bounded tail: %d %v %v", len(res.Lines), res.Truncated, err)
	}
	// A cursor from a finished result polls for newer lines.
	res, _ = s.Query(context.Background(), Query{Names: []string{"big"}, Lines: 1})
	writeAll(t, s, "big", Out, strings.NewReader("newer\n"), nil)
	res, err = s.Query(context.Background(), Query{Names: []string{"big"}, Cursor: res.Cursor})
	if err != nil || len(res.Lines) != 1 || res.Lines[0].Text != "newer" {
		t.Fatalf("poll with cursor: %v %v", res.Lines, err)
	}
	if _, err := s.Query(context.Background(), Query{Cursor: "!!"}); err == nil {
		t.Fatal("bad cursor accepted")
	}
}

// Keep bounds the rotated files; Flush empties, Remove deletes.
func TestKeepFlushRemove(t *testing.T) {
	s := openStore(t, Options{MaxSize: 4 << 10})
	writeAll(t, s, "a", Out, strings.NewReader(numbered(0, 5000)), &RotateOptions{Keep: 2})
	writeAll(t, s, "b", Err, strings.NewReader(numbered(0, 100)), nil)
	files, _ := filepath.Glob(filepath.Join(s.opts.Dir, "a-out.*.log*"))
	if len(files) != 2 {
		t.Fatalf("keep 2: %v", files)
	}
	// The newest lines survive pruning, in order.
	got := queryAll(t, s, Query{Names: []string{"a"}})
	if len(got) == 0 || got[len(got)-1].Text != "line 4999" {
		t.Fatal("newest lines lost")
	}
	if err := s.Flush("a"); err != nil {
		t.Fatal(err)
	}
	if got := queryAll(t, s, Query{Names: []string{"a"}}); len(got) != 0 {
		t.Fatalf("after flush: %d lines", len(got))
	}
	writeAll(t, s, "a", Out, strings.NewReader("again\n"), nil)
	if got := queryAll(t, s, Query{Names: []string{"a"}}); len(got) != 1 || got[0].Text != "again" {
		t.Fatalf("write after flush: %v", got)
	}
	if got := queryAll(t, s, Query{Names: []string{"b"}}); len(got) != 100 {
		t.Fatalf("flush touched b: %d", len(got))
	}
	if err := s.Remove("b"); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(s.opts.Dir, "b-*")); len(files) != 0 {
		t.Fatalf("remove left %v", files)
	}
	if err := s.Flush(""); err != nil {
		t.Fatal(err)
	}
	if got := queryAll(t, s, Query{}); len(got) != 0 {
		t.Fatalf("flush all: %d", len(got))
	}
	if err := s.Flush("../x"); err == nil {
		t.Fatal("bad name accepted")
	}
}

// Remove refuses while a pipe is attached.
func TestRemoveAttached(t *testing.T) {
	s := openStore(t, Options{})
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := s.Attach("x", Out, pr, nil)
	if err := s.Remove("x"); err == nil {
		t.Fatal("remove while attached")
	}
	pw.Close()
	<-done
	pr.Close()
	if err := s.Remove("x"); err != nil {
		t.Fatal(err)
	}
}

// Close ends Attach goroutines reading pipes that stay open, and keeps what
// they delivered.
func TestCloseInterruptsPipes(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir})
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	defer pr.Close()
	done := s.Attach("open", Out, pr, nil)
	if _, err := pw.Write([]byte("one\ntwo")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	s2 := openStore(t, Options{Dir: dir})
	got := queryAll(t, s2, Query{Names: []string{"open"}})
	if len(got) != 2 || got[0].Text != "one" || got[1].Text != "two" {
		t.Fatalf("after close: %v", got)
	}
	if _, err := s.Query(context.Background(), Query{}); err != nil {
		t.Fatalf("query on a closed store reads files: %v", err)
	}
}

// A reopened store continues stamps after the old ones, numbers rotated
// files after the old ones and closes a torn last record.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{base: testBase, step: time.Second}
	s := openStore(t, Options{Dir: dir, Now: clk.Now, MaxSize: 4 << 10})
	writeAll(t, s, "r", Out, strings.NewReader(numbered(0, 500)), nil)
	s.Close()
	f, _ := os.OpenFile(filepath.Join(dir, "r-out.log"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("2026-11-27T02:00:00.000000000Z torn")
	f.Close()
	back := func() time.Time { return testBase } // a clock that went backwards
	s2 := openStore(t, Options{Dir: dir, Now: back, MaxSize: 4 << 10, Keep: 100})
	writeAll(t, s2, "r", Out, strings.NewReader(numbered(500, 1000)), nil)
	got := queryAll(t, s2, Query{Names: []string{"r"}})
	var texts []string
	for i, l := range got {
		if i > 0 && !l.Time.After(got[i-1].Time) {
			t.Fatalf("stamps not increasing at %d: %v then %v", i, got[i-1].Time, l.Time)
		}
		if l.Text != "torn" {
			texts = append(texts, l.Text)
		}
	}
	if len(texts) < 500 || texts[len(texts)-1] != "line 999" {
		t.Fatalf("after reopen: %d lines, last %q", len(texts), texts[len(texts)-1])
	}
}

// A stream nothing is attached to any more has its file closed (a daemon
// that ran a thousand differently named processes held two descriptors for
// each); attaching again continues it: stamps and rotation numbers go on.
func TestIdleStreamsCloseTheirFiles(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{base: testBase, step: time.Millisecond}
	s := openStore(t, Options{Dir: dir, Now: clk.Now, MaxSize: 4 << 10, Keep: 100})
	for i := range 50 {
		writeAll(t, s, fmt.Sprintf("p%02d", i), Out, strings.NewReader(numbered(0, 10)), nil)
	}
	s.mu.Lock()
	open := len(s.sinks)
	s.mu.Unlock()
	if open != 0 {
		t.Fatalf("%d sinks open with nothing attached", open)
	}
	for run := range 3 {
		writeAll(t, s, "r", Out, strings.NewReader(numbered(run*200, run*200+200)), nil)
	}
	got := queryAll(t, s, Query{Names: []string{"r"}})
	if len(got) != 600 {
		t.Fatalf("%d lines after three runs, want 600", len(got))
	}
	for i, l := range got {
		if want := fmt.Sprintf("line %d", i); l.Text != want || i > 0 && !l.Time.After(got[i-1].Time) {
			t.Fatalf("line %d: %q at %v (previous at %v)", i, l.Text, l.Time, got[max(i-1, 0)].Time)
		}
	}
}
