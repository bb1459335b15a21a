package handlers

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tools"
)

// Thresholds of the verdict. They are deliberately coarse: the reasons
// carry the numbers.
const (
	crashLoopRestarts = 3               // automatic restarts in the window that make a crash loop
	errorRateDegraded = 1.0             // errors per minute
	leakPerMinute     = 1 << 20         // bytes per minute of steady growth
	leakMinGrowth     = 10 << 20        // and at least this much growth in the window
	leakMinSpan       = 5 * time.Minute // over at least this much history
	memoryNearLimit   = 0.9             // share of max_memory
)

// ProcessHealth answers process_health_summary.
var ProcessHealth = Bind(tools.ProcessHealth, func(ctx context.Context, d *Deps, in tools.HealthIn) (tools.HealthOut, error) {
	if in.Window == "" {
		in.Window = "1h"
	}
	now := time.Now()
	since, _, err := tools.RangeIn{Last: in.Window}.Bounds(now)
	if err != nil {
		return tools.HealthOut{}, fmt.Errorf("health: window: %w", err)
	}
	infos, err := targetInfos(d, in.Target)
	if err != nil {
		return tools.HealthOut{}, fmt.Errorf("health: %w", err)
	}
	keepSecretsIf(ctx, infos)
	out := tools.HealthOut{Processes: make([]tools.Health, 0, len(infos))}
	for _, info := range infos {
		h, err := health(ctx, d, info, since, now, in.Window)
		if err != nil {
			return tools.HealthOut{}, err
		}
		out.Processes = append(out.Processes, h)
	}
	return out, nil
})

func health(ctx context.Context, d *Deps, info supervisor.Info, since, now time.Time, window string) (tools.Health, error) {
	name := info.LogName()
	h := tools.Health{Process: name, Status: string(info.Status), Restarts: info.Restarts, Window: window,
		RecentRestarts: restartsIn([]supervisor.Info{info}, since, time.Time{}), Anomalies: []tools.AnomalyInfo{}}
	if info.LastExit != nil {
		h.LastExit = info.LastExit.String()
		if info.LastExit.Uptime >= time.Second {
			h.LastExit += " after " + render.Duration(info.LastExit.Uptime)
		}
	}
	a, err := analyze(ctx, d, name, []supervisor.Info{info}, since, time.Time{})
	if err != nil {
		return tools.Health{}, err
	}
	dg := a.Digest()
	h.Errors = dg.Errors
	from := since
	if dg.From.After(from) {
		from = dg.From
	}
	h.ErrorsPerMin = float64(dg.Errors) / max(now.Sub(from).Minutes(), 1)
	h.Anomalies = tools.AnomalyInfos(dg.Anomalies, since, time.Time{})
	if e := dg.LastError; e != nil {
		h.LastError = tools.Clip(e.String(), tools.MaxMsg)
	}

	var failing, degraded, notes []string
	auto := map[string]int{}
	var causes []string
	for _, r := range h.RecentRestarts {
		switch supervisor.Cause(r.Cause) {
		case supervisor.CauseManual, supervisor.CauseCron, supervisor.CauseWatch:
			continue // asked for, not a symptom
		}
		if auto[r.Cause] == 0 {
			causes = append(causes, r.Cause)
		}
		auto[r.Cause]++
	}
	nAuto := 0
	var parts []string
	for _, c := range causes {
		nAuto += auto[c]
		parts = append(parts, fmt.Sprintf("%s ×%d", c, auto[c]))
	}
	restarts := fmt.Sprintf("%s in %s (%s)", plural(nAuto, "restart"), window, strings.Join(parts, ", "))

	switch info.Status {
	case supervisor.Errored:
		failing = append(failing, "errored: "+orDefault(info.Reason, "gave up restarting"))
	case supervisor.Waiting:
		failing = append(failing, "crashed, restarting in "+render.Duration(max(info.NextStart.Sub(now), time.Second)))
	case supervisor.Stopped:
		if info.LastExit != nil && info.LastExit.Failed() && info.Reason != "" {
			failing = append(failing, "stopped: "+info.Reason)
		}
	}
	switch {
	case nAuto == 0:
	case info.Status == supervisor.Errored: // the reason already says crash loop
		failing = append(failing, restarts)
	case nAuto >= crashLoopRestarts:
		failing = append(failing, "crash loop: "+restarts)
	default:
		degraded = append(degraded, restarts)
	}
	if info.Status != supervisor.Online && info.Status != supervisor.Errored && info.LastExit != nil && info.LastExit.Failed() && len(failing) > 0 {
		failing = append(failing, "last exit: "+h.LastExit)
	}

	if d.Metrics != nil {
		key := MetricKey(info.ID)
		if s, ok := d.Metrics.Latest(key); ok && s.Alive && s.PID == info.PID {
			h.Memory = int64(s.RSS)
			if lim := info.Spec.MaxMemory; lim > 0 && float64(s.RSS) >= memoryNearLimit*float64(lim) {
				degraded = append(degraded, fmt.Sprintf("memory %s, %.0f%% of max_memory", render.Bytes(h.Memory), 100*float64(s.RSS)/float64(lim)))
			}
		}
		win := now.Sub(since)
		if slope, ok := d.Metrics.MemorySlope(key, win); ok {
			h.MemorySlope = slope
			st, _ := d.Metrics.Stats(key, win)
			if slope*60 >= leakPerMinute && st.To.Sub(st.From) >= leakMinSpan && st.RSSMax-st.RSSMin >= leakMinGrowth {
				degraded = append(degraded, fmt.Sprintf("memory rising %s/min over %s", render.Bytes(int64(slope*60)), render.Duration(st.To.Sub(st.From))))
			}
		}
	}

	// Lines being dropped (a full disk) hide what the process says.
	degraded = append(degraded, logWriteProblems(d, name)...)

	if dg.Errors > 0 {
		r := fmt.Sprintf("%s in %s (%s/min)", plural(dg.Errors, "error"), window, trimFloat(h.ErrorsPerMin))
		if h.ErrorsPerMin >= errorRateDegraded {
			degraded = append(degraded, r)
		} else {
			notes = append(notes, r)
		}
	}
	for _, an := range h.Anomalies {
		r := fmt.Sprintf("%s at %s", an.Kind, an.At.UTC().Format("15:04Z"))
		if an.Kind != string(insight.KindNewError) {
			r += fmt.Sprintf(": %d/min vs %s", an.Count, trimFloat(an.Baseline))
		}
		degraded = append(degraded, r)
	}

	switch {
	case len(failing) > 0:
		h.Verdict = tools.Failing
	case info.Status == supervisor.Stopped || info.Status == supervisor.Stopping:
		h.Verdict = tools.Stopped
	case len(degraded) > 0:
		h.Verdict = tools.Degraded
	default:
		h.Verdict = tools.Healthy
	}
	h.Reasons = append(append(append([]string{}, failing...), degraded...), notes...)
	return h, nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// trimFloat prints a rate with at most one decimal: 0.2, 3, 12.5.
func trimFloat(f float64) string {
	return fmt.Sprint(math.Round(f*10) / 10)
}
