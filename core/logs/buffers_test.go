package logs

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

func TestBufferClasses(t *testing.T) {
	if initialBufSize<<(bufClasses-1) != readBufSize || writeBufSize != readBufSize {
		t.Fatalf("bufClasses %d does not span %d … %d (write %d)", bufClasses, initialBufSize, readBufSize, writeBufSize)
	}
	var b buffers
	for _, c := range []struct{ size, got int }{{1, 4 << 10}, {4 << 10, 4 << 10}, {5 << 10, 8 << 10}, {100 << 10, 128 << 10}} {
		if p := b.get(c.size); len(p.b) != c.got {
			t.Errorf("get(%d) gave %d bytes, want %d", c.size, len(p.b), c.got)
		}
	}
}

// TestIdlePipesHoldNoBuffers: once what a process wrote is on disk and its
// pipes wait for more, no buffer is held for it — a daemon with a hundred
// quiet processes keeps none, and one that wrote a burst keeps none of it.
func TestIdlePipesHoldNoBuffers(t *testing.T) {
	if !pollable {
		t.Skip("pipes are read with blocking reads here: each reader keeps its buffer")
	}
	s := openStore(t, Options{})
	const n = 20
	var writers []*os.File
	for i := range n {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		writers = append(writers, w)
		s.Attach(fmt.Sprintf("p%d", i), Out, r, nil)
		t.Cleanup(func() { w.Close() })
	}
	burst := make([]byte, 0, 200<<10)
	for len(burst) < 150<<10 {
		burst = append(burst, "a longer line of a burst, to make the buffers grow\n"...)
	}
	var subs []<-chan struct{}
	for i := range n {
		ch, cancel := s.Subscribe(fmt.Sprintf("p%d", i))
		t.Cleanup(cancel)
		subs = append(subs, ch)
	}
	for i, w := range writers {
		if i == 0 {
			w.Write(burst)
		}
		fmt.Fprintf(w, "line of p%d\n", i)
	}
	// Every last line on disk: each write to disk signals the subscribers.
	for i := range n {
		name := fmt.Sprintf("p%d", i)
		for {
			res, err := s.Query(context.Background(), Query{Names: []string{name}, Lines: 1})
			if err == nil && len(res.Lines) == 1 && res.Lines[0].Text == "line of "+name {
				break
			}
			select {
			case <-subs[i]:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: last line not on disk: %+v %v", name, res.Lines, err)
			}
		}
	}
	// A reader gives its buffer back just after the write that signalled:
	// no event marks that instant, so the count is read until it is 0.
	deadline := time.Now().Add(5 * time.Second)
	for s.bufs.out.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d buffers still held by idle pipes", s.bufs.out.Load())
		}
		time.Sleep(time.Millisecond)
	}
}
