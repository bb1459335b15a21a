// Package tools holds every Velos operation, one file per tool (or small
// family), and the one list of them, [All], that the MCP server, the CLI, the
// schema and doc generators and the evals walk.
package tools

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/balance"
	"github.com/velos-pm/velos/core/metrics"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
)

// ProcessInfo is one row of a process listing.
type ProcessInfo struct {
	ID       int     `json:"id" col:"ID" ai:"id,keep"`
	Name     string  `json:"name" col:"NAME"`
	Status   string  `json:"status" col:"STATUS" ai:"st" color:"status"`
	PID      int     `json:"pid" col:"PID"`
	CPU      float64 `json:"cpu" col:"CPU" fmt:"pct"`
	Memory   int64   `json:"memory" col:"MEM" ai:"mem" fmt:"bytes"`
	UptimeMS int64   `json:"uptime_ms" col:"UPTIME" ai:"up" fmt:"ms"`
	Restarts int     `json:"restarts" col:"↺" ai:"rs"`
	// Conns and ReqRate: a cluster instance behind Velos's balancer, its
	// open connections and requests per second (HTTP/1.x, last 10 s).
	Conns   int64   `json:"conns,omitempty" col:"CONNS,optional" ai:"conn"`
	ReqRate float64 `json:"req_per_s,omitempty" col:"REQ/S,optional" ai:"rps"`
	// LagMS is a Node program's event-loop lag (p99 over 5 s), in ms.
	LagMS float64 `json:"lag_ms,omitempty" col:"LAG ms,optional" ai:"lag"`
	// Reason says why the process is errored or stopped, when it is.
	Reason string `json:"reason,omitempty" col:"REASON"`
}

// backendStats is what Velos's balancer knows of one instance's run.
func backendStats(d *tool.Deps, in supervisor.Info) (balance.Backend, bool) {
	b, ok := d.Procs.Share(in.Name).(*balance.Balancer)
	if !ok || in.Run == 0 {
		return balance.Backend{}, false
	}
	for _, s := range b.Stats() {
		if s.ID == in.Run {
			return s, true
		}
	}
	return balance.Backend{}, false
}

// Applies implements [render.Applier]: a process that is not running has no
// pid, CPU, memory or uptime to show; its status and reason say why.
func (p ProcessInfo) Applies(field string) bool {
	switch field {
	case "pid", "cpu", "memory", "uptime_ms":
		return p.PID != 0
	}
	return true
}

func processInfo(d *tool.Deps, in supervisor.Info, now time.Time) ProcessInfo {
	p := ProcessInfo{ID: in.ID, Name: in.Name, Status: string(in.Status), PID: in.PID,
		Restarts: in.Restarts, Reason: in.Reason}
	if (in.Status == supervisor.Online || in.Status == supervisor.Launching) && !in.StartedAt.IsZero() {
		p.UptimeMS = now.Sub(in.StartedAt).Milliseconds()
	}
	if in.Status == supervisor.Launching && p.Reason == "" && len(in.ReadyWait) > 0 {
		p.Reason = "waiting for " + strings.Join(in.ReadyWait, " and ")
		if left := in.ReadyBy.Sub(now); left > 0 {
			p.Reason += fmt.Sprintf(" (%s left)", render.Duration(left.Round(time.Second)))
		}
	}
	if in.Status == supervisor.Waiting && p.Reason == "" && in.LastExit != nil && !in.NextStart.IsZero() {
		// Why it is not running, and until when.
		p.Reason = fmt.Sprintf("%s; restart in %s", in.LastExit, render.Duration(max(in.NextStart.Sub(now), time.Second)))
	}
	if s, ok := backendStats(d, in); ok {
		p.Conns, p.ReqRate = s.Active, s.RequestRate
	}
	if in.Lag != nil && in.PID != 0 {
		p.LagMS = float64(in.Lag.P99.Microseconds()) / 1000
	}
	if d.Metrics != nil && in.PID != 0 {
		if s, ok := d.Metrics.Latest(MetricKey(in.ID)); ok && s.Alive && s.PID == in.PID {
			p.CPU, p.Memory = s.CPUPercent, int64(s.RSS)
		}
	}
	return p
}

func processInfos(d *tool.Deps, ins []supervisor.Info) []ProcessInfo {
	now := time.Now()
	out := make([]ProcessInfo, 0, len(ins))
	for _, in := range ins {
		out = append(out, processInfo(d, in, now))
	}
	return out
}

// MetricKey is a process's key in the metrics sampler: its id, which is
// unique across names and instances and stable across restarts.
func MetricKey(id int) string { return strconv.Itoa(id) }

// MetricTargets is what the sampler measures: every process, by id.
func MetricTargets(ins []supervisor.Info) []metrics.Target {
	ts := make([]metrics.Target, 0, len(ins))
	for _, in := range ins {
		t := metrics.Target{Key: MetricKey(in.ID), PID: in.PID, MaxMemory: uint64(max(in.Spec.MaxMemory, 0))}
		if in.PID != 0 {
			t.Started = in.StartedAt
		}
		ts = append(ts, t)
	}
	return ts
}

// TargetIn selects processes.
type TargetIn struct {
	Target string `json:"target" arg:"" help:"Process name, numeric id, or all."`
}

// ProcessesOut is the processes an operation touched, after it.
type ProcessesOut struct {
	Processes []ProcessInfo `json:"processes"`
	// Warnings are what the operation could not do as asked, e.g. the keys
	// of a PM2 ecosystem file Velos does not support; the CLI prints them on
	// stderr.
	Warnings []string `json:"warnings,omitempty" ai:"warn" human:"-"`
}

// CLIWarnings implements [tool.Warner].
func (o ProcessesOut) CLIWarnings() []string { return o.Warnings }

// AIValue implements render.AIValuer: --ai gives the list itself, without
// the "processes" key that every tool answering with processes would
// repeat (the tool says what the rows are) — unless there are warnings to
// say beside it.
func (o ProcessesOut) AIValue() any {
	if len(o.Warnings) > 0 {
		type plain ProcessesOut // without this method
		return plain(o)
	}
	return o.Processes
}
