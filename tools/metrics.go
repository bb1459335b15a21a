package tools

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/velos-pm/velos/core/metrics"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
)

// MetricsIn selects processes and the window their statistics cover.
type MetricsIn struct {
	Target string `json:"target" arg:"" brief:"name, id or all" help:"Process name, numeric id, or all."`
	Window string `json:"window,omitempty" default:"1m" brief:"-" help:"How far back min/avg/max and the memory trend look, e.g. 30s, 5m, 1h (at most the history kept: 600 samples)."`
}

// ProcessMetrics is one process's current figures and its window's summary.
// Every figure is summed over the process tree (the process and its children).
type ProcessMetrics struct {
	ID       int     `json:"id" col:"ID" ai:"id,keep"`
	Name     string  `json:"name" col:"NAME"`
	Status   string  `json:"status" col:"STATUS" ai:"st" color:"status"`
	PID      int     `json:"pid" col:"PID"`
	CPU      float64 `json:"cpu" col:"CPU" fmt:"pct"`
	Memory   int64   `json:"memory" col:"MEM" ai:"mem" fmt:"bytes"`
	Threads  int     `json:"threads" col:"THR" ai:"thr"`
	FDs      int     `json:"fds" col:"FDS"` // -1: unknown
	Procs    int     `json:"procs" col:"PROCS"`
	UptimeMS int64   `json:"uptime_ms" col:"UPTIME" ai:"up" fmt:"ms"`
	Restarts int     `json:"restarts" col:"↺" ai:"rs"`
	// CPUMin … MemMax summarise the samples of the window.
	CPUMin float64 `json:"cpu_min" col:"CPU MIN" human:"-" fmt:"pct"`
	CPUAvg float64 `json:"cpu_avg" col:"CPU AVG" fmt:"pct"`
	CPUMax float64 `json:"cpu_max" col:"CPU MAX" fmt:"pct"`
	MemMin int64   `json:"mem_min" col:"MEM MIN" human:"-" fmt:"bytes"`
	MemAvg int64   `json:"mem_avg" col:"MEM AVG" fmt:"bytes"`
	MemMax int64   `json:"mem_max" col:"MEM MAX" fmt:"bytes"`
	// MemSlope is the least-squares slope of memory over the window in bytes
	// per second; MemTrend says it for people: "+2.5M/min", "-300K/min" or
	// "flat" (under 1% of the average per window); both are left empty until
	// the window holds 5 samples over 10 s.
	MemSlope float64 `json:"mem_slope" ai:"-" human:"-"`
	MemTrend string  `json:"mem_trend" col:"TREND" ai:"trend"`
	// Samples is how many samples the window holds.
	Samples int `json:"samples" col:"N" ai:"n"`
}

// Applies implements [render.Applier]: a process that is not running has
// no current figures.
func (m ProcessMetrics) Applies(field string) bool {
	switch field {
	case "pid", "cpu", "memory", "threads", "fds", "procs", "uptime_ms":
		return m.PID != 0
	}
	return true
}

// MetricsOut is the metrics of the processes a target selects.
type MetricsOut struct {
	Window    string           `json:"window" human:"-"`
	Processes []ProcessMetrics `json:"processes"`
}

// A memory trend needs this many samples spanning this long.
const (
	trendMinSamples = 5
	trendMinSpan    = 10 * time.Second
)

// watchAfterAsk is how long the sampler stays at its fast interval after a
// metrics question: whoever asked once is likely to ask again soon.
const watchAfterAsk = time.Minute

// Metrics is process_metrics.
var Metrics = &tool.Def[MetricsIn, MetricsOut]{
	Name: "process_metrics", CLI: "metrics show", Title: "Process metrics", Effect: tool.ReadOnly,
	Summary: "CPU, memory, threads, fds of process trees; min/avg/max and memory trend.",
	Run: func(ctx context.Context, d *tool.Deps, in MetricsIn) (MetricsOut, error) {
		if in.Window == "" {
			in.Window = "1m"
		}
		window, err := time.ParseDuration(in.Window)
		if err != nil || window <= 0 {
			return MetricsOut{}, fmt.Errorf("metrics: window %q: want a positive duration like 30s, 5m or 1h", in.Window)
		}
		ins, err := d.Procs.Select(in.Target)
		if err != nil {
			return MetricsOut{}, fmt.Errorf("metrics: %w", err)
		}
		if d.Metrics == nil {
			return MetricsOut{}, fmt.Errorf("metrics: this daemon does not sample processes")
		}
		freshen(ctx, d, ins)
		out := MetricsOut{Window: render.Duration(window), Processes: make([]ProcessMetrics, 0, len(ins))}
		now := time.Now()
		for _, in := range ins {
			out.Processes = append(out.Processes, processMetrics(d, in, window, now))
		}
		return out, nil
	},
}

// freshen makes sure the figures answer the question as asked now: the
// sampler goes to its fast interval for a while, and when the last pass is
// older than that interval or has not yet seen a process's current run (one
// started a moment ago), a pass is made before answering.
func freshen(ctx context.Context, d *tool.Deps, ins []supervisor.Info) {
	release := d.Metrics.Watch()
	time.AfterFunc(watchAfterAsk, release)
	sampleIfStale(ctx, d, ins, d.Metrics.Interval())
}

// sampleIfStale makes a sampling pass before answering when the last one has
// not seen some running process's current run or, with maxAge > 0, is older
// than maxAge.
func sampleIfStale(ctx context.Context, d *tool.Deps, ins []supervisor.Info, maxAge time.Duration) {
	if d.Metrics == nil {
		return
	}
	stale := false
	for _, in := range ins {
		s, ok := d.Metrics.Latest(MetricKey(in.ID))
		if in.PID != 0 && (!ok || s.PID != in.PID || (maxAge > 0 && time.Since(s.Time) > maxAge) || shortCPUSpan(s)) {
			stale = true
		}
	}
	if !stale {
		return
	}
	// Bounded: a sampler that is not running must not hang the call.
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := d.Metrics.Refresh(rctx); err != nil && d.Log != nil {
		d.Log.Debug("metrics refresh", "err", err)
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
	case <-rctx.Done():
		return
	}
	if err := d.Metrics.Refresh(rctx); err != nil && d.Log != nil {
		d.Log.Debug("metrics refresh", "err", err)
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

func processMetrics(d *tool.Deps, in supervisor.Info, window time.Duration, now time.Time) ProcessMetrics {
	pi := processInfo(d, in, now)
	m := ProcessMetrics{ID: pi.ID, Name: pi.Name, Status: pi.Status, PID: pi.PID, CPU: pi.CPU, Memory: pi.Memory,
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
			m.MemTrend = Trend(slope, window, st.RSSAvg)
		}
	}
	return m
}

// Trend says a memory slope for people, per minute: "+2.5M/min",
// "-300K/min", or "flat" when the change over the whole window is under 1%
// of the average (GC and allocator noise, not a trend).
func Trend(bytesPerSecond float64, window time.Duration, avg uint64) string {
	if math.Abs(bytesPerSecond*window.Seconds()) < 0.01*float64(avg) || math.Abs(bytesPerSecond) < 1 {
		return "flat"
	}
	perMin := bytesPerSecond * 60
	if perMin < 0 {
		return "-" + render.Bytes(int64(-perMin)) + "/min"
	}
	return "+" + render.Bytes(int64(perMin)) + "/min"
}
