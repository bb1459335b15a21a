package handlers

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/balance"
	"github.com/velos-pm/velos/core/metrics"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tools"
)

func processInfo(d *Deps, in supervisor.Info, now time.Time) tools.ProcessInfo {
	p := tools.ProcessInfo{ID: in.ID, Name: in.Name, Status: string(in.Status), PID: in.PID,
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

// backendStats is what Velos's balancer knows of one instance's run.
func backendStats(d *Deps, in supervisor.Info) (balance.Backend, bool) {
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

func processInfos(d *Deps, ins []supervisor.Info) []tools.ProcessInfo {
	now := time.Now()
	out := make([]tools.ProcessInfo, 0, len(ins))
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
