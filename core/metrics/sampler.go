package metrics

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for [Options].
const (
	DefaultInterval      = 5 * time.Second
	DefaultWatchInterval = time.Second
)

// reuseSlack is how much later than [Target.Started] a leader may appear to
// have been created and still be the same process. procfs start times are
// exact to 10 ms but boot time is only known to the second.
const reuseSlack = 2 * time.Second

// Target is one managed process to measure.
type Target struct {
	// Key identifies the process across restarts, e.g. "api:0" (name and
	// instance). History and the memory guard are kept per key.
	Key string
	// PID is the leader (the pid the supervisor started); 0 means the process
	// is not running, which keeps its history without measuring anything.
	PID int
	// Started, when set, is when the supervisor started PID. A process under
	// that pid created later than this is a stranger that reused the pid
	// after ours exited, and is reported as not alive instead of measured.
	Started time.Time
	// MaxMemory in bytes enables a [MemoryGuard] for this target (0: off);
	// MaxMemorySamples is its [MemoryGuard.Samples].
	MaxMemory        uint64
	MaxMemorySamples int
}

// Sample is one measurement of one [Target], summed over the leader and all of
// its descendants.
type Sample struct {
	Key  string    `json:"key"`
	PID  int       `json:"pid"`
	Time time.Time `json:"time"`
	// Alive is false when the leader has exited (zombies included) or its pid
	// was reused; every measured field is then zero.
	Alive bool `json:"alive"`
	// Created is when the leader was created, as the OS reports it.
	Created time.Time `json:"created,omitzero"`
	// CPUPercent is the tree's CPU since the previous sample, in percent of one
	// core (like top: 250 means two and a half cores). On the first sample of
	// a process, which has nothing to diff against, it is the average over
	// the process's life so far (as ps shows it), never a 0 that only means
	// "not measured yet".
	CPUPercent float64 `json:"cpu_percent"`
	// CPUSpan is the time CPUPercent is measured over: since the previous
	// sample, or the process's life on its first.
	CPUSpan time.Duration `json:"cpu_span"`
	// CPUSeconds is the tree's cumulative CPU since the leader started,
	// including descendants that have exited and been reaped inside the tree.
	// It never decreases while the leader lives.
	CPUSeconds float64 `json:"cpu_seconds"`
	// RSS is the sum of the resident set sizes of the tree's processes. Pages
	// shared between them (fork without exec) are counted once per process,
	// as ps and PM2 do.
	RSS     uint64 `json:"rss"`
	Threads int    `json:"threads"`
	// FDs is the number of open descriptors, -1 when none could be read
	// (another user's process, or an OS without the information).
	FDs int `json:"fds"`
	// Procs is the number of processes in the tree, the leader included.
	Procs int `json:"procs"`
	// Memory is the max_memory verdict for this sample (zero when the target
	// has no MaxMemory).
	Memory MemoryVerdict `json:"memory,omitzero"`
}

// SelfSample describes the daemon itself.
type SelfSample struct {
	Time       time.Time `json:"time"`
	PID        int       `json:"pid"`
	RSS        uint64    `json:"rss"`
	CPUPercent float64   `json:"cpu_percent"`
	CPUSeconds float64   `json:"cpu_seconds"`
	Goroutines int       `json:"goroutines"`
	// LogBufferDepth comes from [Options.LogBufferDepth]; -1 without one.
	LogBufferDepth int `json:"log_buffer_depth"`
	// Managed is the number of targets in the last pass, SampleDuration how
	// long that pass took.
	Managed        int           `json:"managed"`
	SampleDuration time.Duration `json:"sample_duration"`
}

// Options configures a [Sampler]. The zero value is usable.
type Options struct {
	// Interval between passes of [Sampler.Run] while nobody watches
	// (default [DefaultInterval]); [Sampler.SetInterval] changes it later.
	Interval time.Duration
	// WatchInterval is used instead while at least one [Sampler.Watch] is
	// held (default [DefaultWatchInterval]), so a live view is fresh without
	// paying for it the rest of the time.
	WatchInterval time.Duration
	// HistoryLen is the number of points kept per target (default
	// [DefaultHistoryLen]).
	HistoryLen int
	// LogBufferDepth, when set, reports how many log lines wait to be written;
	// it is called once per pass and must be cheap and goroutine-safe.
	LogBufferDepth func() int
	// OnSample, when set, receives every pass made by [Sampler.Run], on Run's
	// goroutine: the place to act on [Sample.Memory].
	OnSample func([]Sample)
	// OnError, when set, receives errors of passes made by [Sampler.Run].
	OnError func(error)
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
}

// member is one process of a tree as of the previous pass.
type member struct {
	start uint64
	ppid  int32
	cpu   float64 // own + reaped children's, when the reader has both
}

// tracked is the sampler's state for one target key.
type tracked struct {
	// The current incarnation: leader pid and its start identity. A new
	// incarnation (restart, or first sight) resets the CPU accounting and the
	// memory guard, but not the history, which spans restarts.
	pid     int32
	start   uint64
	members map[int32]member
	cpu     float64
	last    time.Time
	guard   MemoryGuard
	hist    *History
	latest  Sample
}

// Sampler measures managed processes and the daemon. Its methods are safe for
// concurrent use; passes are serialised.
type Sampler struct {
	opts   Options
	reader procReader
	self   int32

	mu       sync.RWMutex // guards everything below and serialises passes
	targets  map[string]*tracked
	order    []string
	selfLast SelfSample
	selfCPU  float64
	selfAt   time.Time

	interval atomic.Int64 // unwatched interval, ns
	watchers atomic.Int32
	wake     chan struct{}
	// refresh carries [Sampler.Refresh] requests to Run; each is closed once
	// a pass begun after it was received has been made.
	refresh chan chan struct{}
}

// NewSampler returns a sampler reading the processes of this machine.
func NewSampler(opts Options) *Sampler {
	return newSampler(opts, newReader())
}

func newSampler(opts Options, r procReader) *Sampler {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.WatchInterval <= 0 {
		opts.WatchInterval = DefaultWatchInterval
	}
	if opts.HistoryLen <= 0 {
		opts.HistoryLen = DefaultHistoryLen
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sampler{
		opts:    opts,
		reader:  r,
		self:    int32(os.Getpid()),
		targets: map[string]*tracked{},
		wake:    make(chan struct{}, 1),
		refresh: make(chan chan struct{}),
	}
	s.interval.Store(int64(opts.Interval))
	return s
}

// SetInterval changes the interval [Sampler.Run] uses while nobody watches
// (d <= 0 restores [DefaultInterval]). A running loop picks it up at once.
func (s *Sampler) SetInterval(d time.Duration) {
	if d <= 0 {
		d = DefaultInterval
	}
	s.interval.Store(int64(d))
	s.poke()
}

// Watch switches [Sampler.Run] to [Options.WatchInterval] until the returned
// release is called (once; later calls do nothing). Call it while a client
// shows live metrics, e.g. for the lifetime of a `velos monit` session.
func (s *Sampler) Watch() (release func()) {
	s.watchers.Add(1)
	s.poke()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.watchers.Add(-1)
			s.poke()
		})
	}
}

// Interval is the interval [Sampler.Run] currently uses.
func (s *Sampler) Interval() time.Duration {
	d := time.Duration(s.interval.Load())
	if s.watchers.Load() > 0 {
		d = min(d, s.opts.WatchInterval)
	}
	return d
}

func (s *Sampler) poke() {
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is already pending; one is enough
	}
}

// Run samples targets() every [Sampler.Interval] until ctx is done, then
// returns ctx's error. The first pass is immediate. targets must return the
// full current set each time: keys it no longer returns are forgotten.
func (s *Sampler) Run(ctx context.Context, targets func() []Target) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var last time.Time
	var waiting []chan struct{} // Refresh callers served by the next pass
	defer func() {
		for _, r := range waiting {
			close(r)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
			// The interval changed: re-aim the timer from the last pass, so
			// a newly watched sampler reaches 1 s at once.
			timer.Reset(max(0, time.Until(last.Add(s.Interval()))))
			continue
		case r := <-s.refresh:
			waiting = append(waiting, r)
		case <-timer.C:
		}
		last = time.Now()
		samples, err := s.Sample(ctx, targets())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if s.opts.OnError != nil {
				s.opts.OnError(err)
			}
		} else if s.opts.OnSample != nil {
			s.opts.OnSample(samples)
		}
		// Answered even on error: the caller wanted a pass made, not a good one.
		for _, r := range waiting {
			close(r)
		}
		waiting = waiting[:0]
		// Since Go 1.23 Reset also drops a fire the refresh pass raced with.
		timer.Reset(max(0, time.Until(last.Add(s.Interval()))))
	}
}

// Refresh asks a running [Sampler.Run] for a pass now and waits until one
// begun after the call has been made (its OnSample included), or ctx is done.
// Use it when a client asks about a process the last pass may not have seen,
// e.g. one started a moment ago: a one-off [Sampler.Sample] of only that
// process would forget the others, and its max_memory verdicts would never
// reach OnSample. Without a running Run, Refresh waits for ctx.
func (s *Sampler) Refresh(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case s.refresh <- done:
	case <-ctx.Done():
		return fmt.Errorf("metrics refresh: %w", ctx.Err())
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("metrics refresh: %w", ctx.Err())
	}
}

// Sample makes one pass over targets (the full current set: keys not in it are
// forgotten) and the daemon itself, records history and returns one [Sample]
// per target in the same order.
func (s *Sampler) Sample(ctx context.Context, targets []Target) ([]Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	begun := time.Now()
	trees := false
	for _, t := range targets {
		trees = trees || t.PID > 0
	}
	if err := s.reader.begin(ctx, trees); err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	now := s.opts.Now()
	out := make([]Sample, 0, len(targets))
	keep := make(map[string]*tracked, len(targets))
	order := make([]string, 0, len(targets))
	for _, t := range targets {
		if _, dup := keep[t.Key]; dup {
			continue // the caller's bug; measuring twice would corrupt the accounting
		}
		tr := s.targets[t.Key]
		if tr == nil {
			tr = &tracked{hist: NewHistory(s.opts.HistoryLen)}
		}
		keep[t.Key] = tr
		order = append(order, t.Key)
		smp := s.measure(ctx, tr, t, now)
		tr.latest = smp
		if smp.Alive {
			tr.hist.Add(Point{Time: now, CPU: smp.CPUPercent, RSS: smp.RSS})
		}
		out = append(out, smp)
	}
	s.targets, s.order = keep, order
	s.sampleSelf(ctx, now, len(out), time.Since(begun))
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	return out, nil
}

// measure walks one target's tree and updates its accounting.
func (s *Sampler) measure(ctx context.Context, tr *tracked, t Target, now time.Time) Sample {
	smp := Sample{Key: t.Key, PID: t.PID, Time: now, FDs: -1}
	pid := int32(t.PID)
	var lead procStat
	alive := t.PID > 0
	if alive {
		var err error
		lead, err = s.reader.stat(ctx, pid)
		alive = err == nil && !lead.zombie // a zombie is an exit the supervisor has yet to reap
	}
	if alive && !t.Started.IsZero() && !lead.created.IsZero() && lead.created.After(t.Started.Add(reuseSlack)) {
		alive = false // pid reused by a process born after ours
	}
	if !alive {
		tr.pid, tr.members = 0, nil
		tr.guard.Reset()
		return smp
	}
	if tr.pid != pid || tr.start != lead.start || tr.members == nil {
		// First sight of this incarnation: no baseline for a percentage.
		tr.pid, tr.start, tr.members, tr.cpu, tr.last = pid, lead.start, nil, 0, time.Time{}
		tr.guard = MemoryGuard{}
	}
	tr.guard.Limit, tr.guard.Samples = t.MaxMemory, t.MaxMemorySamples

	cur := make(map[int32]member, max(len(tr.members), 1))
	fds, fdsKnown := 0, false
	queue := []int32{pid}
	stats := map[int32]procStat{pid: lead}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		st := stats[p]
		cpu := st.cpu
		if s.reader.withChildren() {
			cpu += st.childCPU
		}
		cur[p] = member{start: st.start, ppid: st.ppid, cpu: cpu}
		smp.RSS += st.rss
		smp.Threads += st.threads
		if n := s.reader.fds(ctx, p); n >= 0 {
			fds += n
			fdsKnown = true
		}
		for _, c := range s.reader.children(ctx, p) {
			if _, seen := stats[c]; seen {
				continue
			}
			cs, err := s.reader.stat(ctx, c)
			if err != nil || cs.ppid != p {
				continue // exited, or reparented since the listing
			}
			stats[c] = cs
			queue = append(queue, c)
		}
	}
	smp.Alive = true
	smp.Created = lead.created
	smp.Procs = len(cur)
	if fdsKnown {
		smp.FDs = fds
	}
	if tr.members == nil {
		for _, m := range cur {
			tr.cpu += m.cpu
		}
		// No baseline: the lifetime average, from when the supervisor
		// started it (exact) or else when the OS says it was created (its
		// boot time is known to the second, so this errs low, never high).
		born := t.Started
		if born.IsZero() {
			born = lead.created
		}
		if el := now.Sub(born); !born.IsZero() && el > 0 {
			smp.CPUSpan = el
			smp.CPUPercent = min(tr.cpu/el.Seconds()*100, float64(100*runtime.NumCPU()))
		}
	} else {
		d := cpuDelta(tr.members, cur, s.reader.withChildren())
		tr.cpu += d
		if el := now.Sub(tr.last); el > 0 {
			smp.CPUPercent = d / el.Seconds() * 100
			smp.CPUSpan = el
		}
	}
	tr.members, tr.last = cur, now
	smp.CPUSeconds = tr.cpu
	if t.MaxMemory > 0 {
		smp.Memory = tr.guard.Observe(smp.RSS)
	}
	return smp
}

// cpuDelta is the CPU a tree used between two passes, given each member's
// cumulative CPU (own plus reaped children's when withChildren).
//
// A member seen in both passes contributes its increase; a new member all of
// its CPU (it was born after the previous pass, or its time was never
// counted). A member that vanished was reaped: when its reaper was inside the
// tree, the reaper's children's CPU has just grown by the vanished member's
// whole total, part of which was already counted, so that part is taken back.
// The result is clamped at 0 so the cumulative counter never decreases.
func cpuDelta(prev, cur map[int32]member, withChildren bool) float64 {
	var d float64
	for pid, m := range cur {
		if p, ok := prev[pid]; ok && p.start == m.start {
			d += max(0, m.cpu-p.cpu)
		} else {
			d += m.cpu
		}
	}
	if withChildren {
		for pid, p := range prev {
			if c, ok := cur[pid]; ok && c.start == p.start {
				continue
			}
			if reapedInTree(pid, prev, cur) {
				d -= p.cpu
			}
		}
	}
	return max(0, d)
}

// reapedInTree reports whether a vanished member was (as far as the last pass
// can tell) reaped by a process still in the tree: its parent, or, when the
// parent vanished too, the parent's reaper, and so on up. A chain that leaves
// the tree means the CPU went with it.
func reapedInTree(pid int32, prev, cur map[int32]member) bool {
	for range len(prev) { // bounded: a pid cycle cannot loop forever
		p := prev[pid].ppid
		pm, ok := prev[p]
		if !ok {
			return false
		}
		if c, alive := cur[p]; alive && c.start == pm.start {
			return true
		}
		pid = p
	}
	return false
}

func (s *Sampler) sampleSelf(ctx context.Context, now time.Time, managed int, took time.Duration) {
	self := SelfSample{
		Time:           now,
		PID:            int(s.self),
		Goroutines:     runtime.NumGoroutine(),
		LogBufferDepth: -1,
		Managed:        managed,
		SampleDuration: took,
	}
	if s.opts.LogBufferDepth != nil {
		self.LogBufferDepth = s.opts.LogBufferDepth()
	}
	// Only the daemon's own CPU: its reaped children are the managed
	// processes, already reported per target.
	if st, err := s.reader.stat(ctx, s.self); err == nil {
		self.RSS = st.rss
		self.CPUSeconds = st.cpu
		if !s.selfAt.IsZero() {
			if el := now.Sub(s.selfAt).Seconds(); el > 0 {
				self.CPUPercent = max(0, st.cpu-s.selfCPU) / el * 100
			}
		}
		s.selfCPU, s.selfAt = st.cpu, now
	}
	s.selfLast = self
}

// Latest returns the most recent sample of key.
func (s *Sampler) Latest(key string) (Sample, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	tr, ok := s.targets[key]
	if !ok || tr.latest.Time.IsZero() {
		return Sample{}, false
	}
	return tr.latest, true
}

// Snapshot returns the most recent sample of every target, in the order of
// the last pass.
func (s *Sampler) Snapshot() []Sample {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Sample, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.targets[k].latest)
	}
	return out
}

// Self returns the daemon's own figures as of the last pass (zero before the
// first).
func (s *Sampler) Self() SelfSample {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.selfLast
}

// History returns key's points of the last window (all of them when
// window <= 0), oldest first.
func (s *Sampler) History(key string, window time.Duration) []Point {
	s.mu.RLock()
	defer s.mu.RUnlock()
	tr, ok := s.targets[key]
	if !ok {
		return nil
	}
	return tr.hist.Points(s.since(window))
}

// Stats returns min/avg/max of key over the last window (everything held
// when window <= 0); ok is false for an unknown key.
func (s *Sampler) Stats(key string, window time.Duration) (st Stats, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	tr, ok := s.targets[key]
	if !ok {
		return Stats{}, false
	}
	return tr.hist.Stats(s.since(window)), true
}

// MemorySlope is [History.MemorySlope] of key over the last window, in bytes
// per second.
func (s *Sampler) MemorySlope(key string, window time.Duration) (bytesPerSecond float64, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	tr, found := s.targets[key]
	if !found {
		return 0, false
	}
	return tr.hist.MemorySlope(s.since(window))
}

func (s *Sampler) since(window time.Duration) time.Time {
	if window <= 0 {
		return time.Time{}
	}
	return s.opts.Now().Add(-window)
}
