package logs

import (
	"bytes"
	"context"
	"fmt"
	"runtime/debug"
	"testing"
	"time"
)

func benchLines(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "2026-11-27 01:26:31 INFO request %d handled in 12ms path=/api/v1/items status=200\n", i)
	}
	return b.Bytes()
}

// The write hot path (split, stamp, buffer, write) allocates nothing per
// line or per read.
func TestWriteNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector sync.Pool drops buffers on purpose")
	}
	s := openStore(t, Options{MaxSize: 1 << 20, Keep: 2})
	sk, err := func() (*sink, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.sinkLocked(srcKey{"alloc", Out})
	}()
	if err != nil {
		t.Fatal(err)
	}
	chunk := benchLines(200)
	cont := false
	// The buffers are pooled (sync.Pool): a collection in the middle, set
	// off by another test's goroutines, would empty the pool and count as
	// this path's allocation.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	allocs := testing.AllocsPerRun(200, func() {
		sk.write(chunk, &cont, false, true)
	})
	if allocs > 0 {
		t.Fatalf("%v allocations per 200-line write", allocs)
	}
}

// BenchmarkSinkWrite measures the hot path for a pipe read of 200 lines
// (~19 KiB), written to the file at once (the pipe was drained).
func BenchmarkSinkWrite(b *testing.B) {
	s := openStore(b, Options{MaxSize: 64 << 20, Keep: 1})
	s.mu.Lock()
	sk, err := s.sinkLocked(srcKey{"bench", Out})
	s.mu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	chunk := benchLines(200)
	cont := false
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		sk.write(chunk, &cont, false, true)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*200), "ns/line")
}

// BenchmarkAttach measures a whole Attach of 10,000 lines from a reader,
// including rotation at 10 MiB.
func BenchmarkAttach(b *testing.B) {
	s := openStore(b, Options{Keep: 1})
	data := benchLines(10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		<-s.Attach("bench", Out, bytes.NewReader(data), nil)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10000), "ns/line")
}

// BenchmarkQueryRange measures a one-minute window in a 200k-line log.
func BenchmarkQueryRange(b *testing.B) {
	clk := &fakeClock{base: testBase, step: 10 * time.Millisecond}
	s := openStore(b, Options{Now: clk.Now, MaxSize: 1 << 30})
	<-s.Attach("q", Out, &lineReader{string(benchLines(200000))}, nil)
	q := Query{Names: []string{"q"}, Since: clk.at(100000), Until: clk.at(106000), MaxLines: -1}
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.Query(context.Background(), q)
		if err != nil || len(res.Lines) != 6000 {
			b.Fatal(len(res.Lines), err)
		}
	}
}
