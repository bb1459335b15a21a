package logs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// producerEnv makes the test binary a log producer: it writes the given
// number of numbered lines to stdout as fast as it can, then exits.
const producerEnv = "VELOS_LOGS_TEST_PRODUCER"

func TestMain(m *testing.M) {
	if v := os.Getenv(producerEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			os.Exit(2)
		}
		w := bufio.NewWriterSize(os.Stdout, 64<<10)
		var b []byte
		for i := 1; i <= n; i++ {
			b = strconv.AppendInt(b[:0], int64(i), 10)
			b = append(b, '\n')
			w.Write(b)
		}
		w.Flush()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeClock returns base + i*step on its i-th call (from 0). The store reads
// the clock once per read that has lines, so with [lineReader] line i is
// stamped at(i).
type fakeClock struct {
	base time.Time
	step time.Duration
	n    atomic.Int64
}

func (c *fakeClock) Now() time.Time {
	i := c.n.Add(1) - 1
	return c.base.Add(time.Duration(i) * c.step)
}

func (c *fakeClock) at(i int) time.Time { return c.base.Add(time.Duration(i) * c.step) }

var testBase = time.Date(2026, 11, 27, 1, 26, 31, 0, time.UTC)

// openStore opens a store in a temp dir, closes it at the end of the test
// and checks that no goroutine outlives it.
func openStore(t testing.TB, opts Options) *Store {
	t.Helper()
	before := runtime.NumGoroutine()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.OnError == nil {
		opts.OnError = func(err error) { t.Errorf("store error: %v", err) }
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		noLeak(t, before)
	})
	return s
}

// noLeak waits briefly for goroutines that are already ending (timer
// callbacks finishing) and fails if more remain than before the test.
func noLeak(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Errorf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
			return
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// writeAll attaches r and waits until its lines are written.
func writeAll(t testing.TB, s *Store, name string, st Stream, r io.Reader, ro *RotateOptions) {
	t.Helper()
	select {
	case <-s.Attach(name, st, r, ro):
	case <-time.After(30 * time.Second):
		t.Fatal("attach did not finish")
	}
}

func numbered(from, to int) string {
	var b []byte
	for i := from; i < to; i++ {
		b = fmt.Appendf(b, "line %d\n", i)
	}
	return string(b)
}

func queryAll(t testing.TB, s *Store, q Query) []Line {
	t.Helper()
	q.MaxLines, q.MaxBytes = -1, -1
	if q.Lines == 0 {
		q.Lines = -1
	}
	res, err := s.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if res.Truncated {
		t.Fatal("unbounded query truncated")
	}
	return res.Lines
}

// lineReader returns one line per Read, as a pipe does when the app writes
// line by line and the reader keeps up.
type lineReader struct{ s string }

func (r *lineReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := strings.IndexByte(r.s, '\n') + 1
	if n == 0 {
		n = len(r.s)
	}
	n = copy(p, r.s[:n])
	r.s = r.s[n:]
	return n, nil
}
