package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/velos-pm/velos/core/metrics"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tools"
)

// A memory trend needs this many samples spanning this long.
const (
	trendMinSamples = 5
	trendMinSpan    = 10 * time.Second
)

// watchAfterAsk is how long the sampler stays at its fast interval after a
// metrics question: whoever asked once is likely to ask again soon.
const watchAfterAsk = time.Minute

// Metrics answers process_metrics.
var Metrics = Bind(tools.Metrics, func(ctx context.Context, d *Deps, in tools.MetricsIn) (tools.MetricsOut, error) {
	if in.Window == "" {
		in.Window = "1m"
	}
	window, err := time.ParseDuration(in.Window)
	if err != nil || window <= 0 {
		return tools.MetricsOut{}, fmt.Errorf("metrics: window %q: want a positive duration like 30s, 5m or 1h", in.Window)
	}
	ins, err := d.Procs.Select(in.Target)
	if err != nil {
		return tools.MetricsOut{}, fmt.Errorf("metrics: %w", err)
	}
	if d.Metrics == nil {
		return tools.MetricsOut{}, fmt.Errorf("metrics: this daemon does not sample processes")
	}
	freshen(ctx, d, ins)
	out := tools.MetricsOut{Window: render.Duration(window), Processes: make([]tools.ProcessMetrics, 0, len(ins))}
	now := time.Now()
	for _, in := range ins {
		out.Processes = append(out.Processes, processMetrics(d, in, window, now))
	}
	return out, nil
})

// freshen makes sure the figures answer the question as asked now: the
// sampler goes to its fast interval for a while, and when the last pass is
// older than that interval or has not yet seen a process's current run (one
// started a moment ago), a pass is made before answering.
func freshen(ctx context.Context, d *Deps, ins []supervisor.Info) {
	release := d.Metrics.Watch()
	time.AfterFunc(watchAfterAsk, release)
	sampleIfStale(ctx, d, ins, d.Metrics.Interval())
}

// sampleIfStale makes a sampling pass before answering when the last one has
// not seen some running process's current run or, with maxAge > 0, is older
// than maxAge.
func sampleIfStale(ctx context.Context, d *Deps, ins []supervisor.Info, maxAge time.Duration) {
	if d.Metrics == nil {
		return
	}
	stale := false
	for _, in := range ins {
		s, ok := d.Metrics.Latest(MetricKey(in.ID))
		// A CPU figure over less than onTheSpot (a process measured as it
		// started) is measured again.
		rough := s.Alive && s.CPUSpan < onTheSpot
		if in.PID != 0 && (!ok || s.PID != in.PID || (maxAge > 0 && time.Since(s.Time) > maxAge) || shortCPUSpan(s) || rough) {
			stale = true
		}
	}
	if !stale {
		return
	}
	if !refresh(ctx, d) {
		return
	}
	// A process a few milliseconds old has used no whole clock tick yet
	// (10 ms): its lifetime average would be a 0 that means "too early".
	// Measure it over a short interval on the spot instead.
	var wait time.Duration
	for _, in := range ins {
		if s, ok := d.Metrics.Latest(MetricKey(in.ID)); ok && s.Alive && s.PID == in.PID && s.CPUSpan < onTheSpot {
			wait = max(wait, onTheSpot-time.Since(s.Time))
		}
	}
	if wait <= 0 {
		return
	}
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return
	}
	refresh(ctx, d)
}

// refresh has the sampler make a pass now, bounded (a sampler that is not
// running must not hang the call); it reports whether the pass was made.
func refresh(ctx context.Context, d *Deps) bool {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := d.Metrics.Refresh(rctx); err != nil {
		if d.Log != nil {
			d.Log.Debug("metrics refresh", "err", err)
		}
		return false
	}
	return true
}

// measureNow has the sampler measure processes just started, so that what
// start answers shows their memory rather than a 0B that means "not yet
// measured" (their CPU is over their short life so far; list measures it
// again over a proper interval).
func measureNow(ctx context.Context, d *Deps, ins []supervisor.Info) {
	if d.Metrics != nil && len(ins) > 0 {
		refresh(ctx, d)
	}
}

// onTheSpot is the shortest interval a CPU figure is given over: a process
// measured over less is measured again this long after.
const onTheSpot = 200 * time.Millisecond

// minCPUSpan: a CPU figure measured over less than this (a process sampled a
// moment after it started) is rough; once it is that old, a new pass gives
// one over the time since.
const minCPUSpan = time.Second

func shortCPUSpan(s metrics.Sample) bool {
	return s.Alive && s.CPUSpan < minCPUSpan && time.Since(s.Time) >= minCPUSpan
}

func processMetrics(d *Deps, in supervisor.Info, window time.Duration, now time.Time) tools.ProcessMetrics {
	pi := processInfo(d, in, now)
	m := tools.ProcessMetrics{ID: pi.ID, Name: pi.Name, Status: pi.Status, PID: pi.PID, CPU: pi.CPU, Memory: pi.Memory,
		UptimeMS: pi.UptimeMS, Restarts: pi.Restarts, FDs: -1}
	key := MetricKey(in.ID)
	if s, ok := d.Metrics.Latest(key); ok && s.Alive && s.PID == in.PID && in.PID != 0 {
		m.Threads, m.FDs, m.Procs = s.Threads, s.FDs, s.Procs
	}
	if st, ok := d.Metrics.Stats(key, window); ok && st.N > 0 {
		m.Samples = st.N
		m.CPUMin, m.CPUAvg, m.CPUMax = st.CPUMin, st.CPUAvg, st.CPUMax
		m.MemMin, m.MemAvg, m.MemMax = int64(st.RSSMin), int64(st.RSSAvg), int64(st.RSSMax)
		// A slope over a few seconds is allocator noise, not a trend.
		if slope, ok := d.Metrics.MemorySlope(key, window); ok && st.N >= trendMinSamples && st.To.Sub(st.From) >= trendMinSpan {
			m.MemSlope = slope
			m.MemTrend = tools.Trend(slope, window, st.RSSAvg)
		}
	}
	return m
}
