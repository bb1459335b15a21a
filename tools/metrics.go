package tools

import (
	"math"
	"time"

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

// Metrics is process_metrics.
var Metrics = &tool.Def[MetricsIn, MetricsOut]{
	Name: "process_metrics", CLI: "metrics show", Title: "Process metrics", Effect: tool.ReadOnly,
	Summary: "CPU, memory, threads, fds of process trees; min/avg/max and memory trend.",
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
