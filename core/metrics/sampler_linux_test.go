package metrics

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// TestFirstSampleIsLifetimeAverage: a process measured for the first time
// shows the CPU it used over its life so far, not 0 for "no baseline": a
// busy loop a moment old is busy at once.
func TestFirstSampleIsLifetimeAverage(t *testing.T) {
	started := time.Now()
	busy := py(t, busyPy)
	time.Sleep(500 * time.Millisecond) // the life to average over, not a poll
	s := NewSampler(Options{})
	smp := sampleOne(t, s, Target{Key: "busy", PID: busy.Process.Pid, Started: started})[0]
	kernel, _ := stopAndMeasure(t, busy, syscall.SIGKILL)
	truth := kernel / time.Since(started).Seconds() * 100
	t.Logf("first sample %.1f%% over %v; kernel over the whole life %.1f%%", smp.CPUPercent, smp.CPUSpan, truth)
	// On a busy machine the loop gets less than a core: the reference is
	// what the kernel charged it over its life.
	if smp.CPUPercent < 5 || smp.CPUPercent-truth > 10 || truth-smp.CPUPercent > 10 {
		t.Errorf("first sample of a busy loop: %.1f%%, kernel %.1f%%", smp.CPUPercent, truth)
	}
	if smp.CPUSpan < 500*time.Millisecond || smp.CPUSpan > 5*time.Second {
		t.Errorf("span %v, want the life so far", smp.CPUSpan)
	}
}

// TestSamplerMemoryAndCPU: a child holding 100 MiB and a child spinning one
// core, measured over one second.
func TestSamplerMemoryAndCPU(t *testing.T) {
	started := time.Now() // what a supervisor records as it spawns
	alloc := py(t, allocPy)
	busy := py(t, busyPy)
	s := NewSampler(Options{})
	targets := []Target{
		{Key: "alloc", PID: alloc.Process.Pid, Started: started},
		{Key: "busy", PID: busy.Process.Pid},
	}
	first := sampleOne(t, s, targets...)
	time.Sleep(time.Second) // the measurement window, not a poll
	second := sampleOne(t, s, targets...)

	a, b := second[0], second[1]
	t.Logf("alloc: rss=%.1f MiB cpu=%.1f%% threads=%d fds=%d procs=%d", float64(a.RSS)/mib, a.CPUPercent, a.Threads, a.FDs, a.Procs)
	if !a.Alive || !b.Alive {
		t.Fatalf("not alive: %+v %+v", a, b)
	}
	// 100 MiB of data plus the interpreter (~10 MiB).
	if a.RSS < 100*mib || a.RSS > 140*mib {
		t.Errorf("alloc RSS = %.1f MiB, want 100..140", float64(a.RSS)/mib)
	}
	if a.CPUPercent > 5 {
		t.Errorf("sleeping child CPU = %.1f%%, want < 5", a.CPUPercent)
	}
	if a.Procs != 1 || a.Threads < 1 || a.FDs < 3 {
		t.Errorf("alloc procs=%d threads=%d fds=%d, want 1, >=1, >=3 (stdio)", a.Procs, a.Threads, a.FDs)
	}
	if time.Since(a.Created) > time.Minute || time.Until(a.Created) > 2*time.Second {
		t.Errorf("alloc created %v, want about now", a.Created)
	}
	// One busy core: ≈100% on an idle machine, less when other work competes
	// for the CPUs, so the reference is what the kernel charged the child.
	kernel, ended := stopAndMeasure(t, busy, syscall.SIGKILL)
	checkCPU(t, "busy", first[1], b, kernel, ended, 10)
	if first[1].CPUSpan <= 0 || b.CPUSpan < 900*time.Millisecond || b.CPUSpan > 3*time.Second {
		t.Errorf("CPU spans: first %v (the life so far), second %v (the window)", first[1].CPUSpan, b.CPUSpan)
	}

	// Self-metrics are filled by the same pass.
	self := s.Self()
	if self.RSS == 0 || self.Goroutines == 0 || self.Managed != 2 || self.LogBufferDepth != -1 {
		t.Errorf("self = %+v", self)
	}

	// The portable gopsutil reader must agree with the procfs one.
	ps := newSampler(Options{}, newPSReader())
	got := sampleOne(t, ps, targets[0])[0]
	if diff := int64(got.RSS) - int64(a.RSS); diff > 4*mib || diff < -4*mib {
		t.Errorf("gopsutil RSS %d vs procfs %d", got.RSS, a.RSS)
	}
	if got.Threads != a.Threads || got.Procs != a.Procs {
		t.Errorf("gopsutil threads/procs %d/%d vs procfs %d/%d", got.Threads, got.Procs, a.Threads, a.Procs)
	}
}

// TestSamplerCountsGrandchild: the leader and middle process are small; the
// 100 MiB lives in the grandchild and must be in the leader's sample.
func TestSamplerCountsGrandchild(t *testing.T) {
	t.Parallel()
	leader := py(t, treePy, allocPy)
	s := NewSampler(Options{})
	smp := sampleOne(t, s, Target{Key: "tree", PID: leader.Process.Pid})[0]
	own, err := s.reader.stat(context.Background(), int32(leader.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tree: procs=%d rss=%.1f MiB (leader alone %.1f MiB) threads=%d", smp.Procs, float64(smp.RSS)/mib, float64(own.rss)/mib, smp.Threads)
	if smp.Procs != 3 {
		t.Errorf("procs = %d, want 3 (leader, child, grandchild)", smp.Procs)
	}
	if own.rss > 40*mib {
		t.Errorf("leader alone has %.1f MiB; the test needs it small", float64(own.rss)/mib)
	}
	if smp.RSS < 100*mib+own.rss || smp.RSS > 180*mib {
		t.Errorf("tree RSS = %.1f MiB, want 100 MiB + three interpreters (< 180)", float64(smp.RSS)/mib)
	}
}

// TestSamplerReapedChildrenCPU: children that live and die between two samples
// still show in the tree's CPU, through the leader's reaped-children time.
func TestSamplerReapedChildrenCPU(t *testing.T) {
	leader := py(t, reaperPy)
	s := NewSampler(Options{})
	tg := Target{Key: "reaper", PID: leader.Process.Pid}
	first := sampleOne(t, s, tg)[0]
	time.Sleep(1500 * time.Millisecond)
	second := sampleOne(t, s, tg)[0]
	kernel, ended := stopAndMeasure(t, leader, syscall.SIGTERM)
	checkCPU(t, "reaper", first, second, kernel, ended, 15)
}

// TestSamplerPIDReuseAndRestart: a leader born well after Target.Started is a
// stranger; a new pid under the same key is a new incarnation whose CPU
// counter starts again, while the history spans both.
func TestSamplerPIDReuseAndRestart(t *testing.T) {
	t.Parallel()
	c := startSleeper(t)
	s := NewSampler(Options{})
	old := time.Now().Add(-time.Hour)
	if smp := sampleOne(t, s, Target{Key: "k", PID: c.Process.Pid, Started: old})[0]; smp.Alive {
		t.Fatalf("leader created after Started+slack must count as a reused pid: %+v", smp)
	}
	tg := Target{Key: "k", PID: c.Process.Pid, Started: time.Now()}
	if smp := sampleOne(t, s, tg)[0]; !smp.Alive {
		t.Fatalf("own child not alive: %+v", smp)
	}
	sampleOne(t, s, Target{Key: "k"}) // stopped: no pid
	if smp, ok := s.Latest("k"); !ok || smp.Alive {
		t.Fatalf("stopped target: %+v %v", smp, ok)
	}
	if n := len(s.History("k", 0)); n != 1 {
		t.Fatalf("history has %d points, want 1 (only alive samples)", n)
	}
	sampleOne(t, s) // key gone from the set: forgotten
	if _, ok := s.Latest("k"); ok {
		t.Fatal("forgotten key still has a sample")
	}
}
