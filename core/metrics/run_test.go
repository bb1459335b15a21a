package metrics

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

func TestRunIntervalsAndStop(t *testing.T) {
	t.Parallel()
	passes := make(chan []Sample, 16)
	s := NewSampler(Options{
		Interval:      time.Hour, // unwatched: would never sample again
		WatchInterval: 20 * time.Millisecond,
		OnSample:      func(ss []Sample) { passes <- ss },
	})
	if s.Interval() != time.Hour {
		t.Fatalf("Interval = %v, want 1h", s.Interval())
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	self := []Target{{Key: "self", PID: os.Getpid()}}
	go func() { errc <- s.Run(ctx, func() []Target { return self }) }()

	next := func(what string) []Sample {
		t.Helper()
		select {
		case ss := <-passes:
			return ss
		case <-time.After(5 * time.Second):
			t.Fatalf("no pass: %s", what)
			return nil
		}
	}
	if ss := next("first pass is immediate"); len(ss) != 1 || !ss[0].Alive {
		t.Fatalf("first pass: %+v", ss)
	}
	release := s.Watch()
	if s.Interval() != 20*time.Millisecond {
		t.Fatalf("watched Interval = %v", s.Interval())
	}
	next("watched pass 1") // the hour-long timer was re-aimed
	next("watched pass 2")
	release()
	release() // idempotent
	if s.Interval() != time.Hour {
		t.Fatalf("released Interval = %v, want 1h", s.Interval())
	}
	s.SetInterval(30 * time.Millisecond)
	for len(passes) > 0 {
		<-passes
	}
	next("after SetInterval")
	if st, ok := s.Stats("self", 0); !ok || st.N < 3 || st.RSSMax == 0 {
		t.Errorf("Stats = %+v, %v; want the passes recorded", st, ok)
	}

	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still running 5 s after cancel")
	}
}

func TestSampleMaxMemoryVerdict(t *testing.T) {
	t.Parallel()
	s := NewSampler(Options{})
	tg := Target{Key: "self", PID: os.Getpid(), MaxMemory: 1, MaxMemorySamples: 2} // 1 byte: always above
	var v []MemoryVerdict
	for range 3 {
		out, err := s.Sample(t.Context(), []Target{tg})
		if err != nil {
			t.Fatal(err)
		}
		v = append(v, out[0].Memory)
	}
	if v[0].Restart || !v[1].Restart || v[2].Restart || v[1].RSS == 0 || v[1].Limit != 1 {
		t.Fatalf("verdicts %+v: want restart on the 2nd sample only, with the measured RSS", v)
	}
}
