package tools

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
)

// HealthIn names the processes to judge.
type HealthIn struct {
	Target string `json:"target" arg:"" brief:"name, id or all" help:"Process name, numeric id, or all."`
	Window string `json:"window,omitempty" default:"1h" brief:"-" help:"How far back restarts, errors, anomalies and memory are looked at (15m, 1h, 1d)."`
}

// Verdicts of process_health_summary, from best to worst.
const (
	Healthy  = "healthy"  // online, nothing worth a look
	Stopped  = "stopped"  // stopped on purpose (not a failure)
	Degraded = "degraded" // online, but restarting, erroring or leaking
	Failing  = "failing"  // errored, crash-looping, or down after a failed exit
)

// Health is the answer to "is X healthy, and if not, why".
type Health struct {
	Process string `json:"process" col:"NAME" ai:"p"`
	// Verdict is healthy, degraded, failing or stopped.
	Verdict string `json:"verdict" col:"VERDICT" ai:"v"`
	// Reasons say, most serious first, what the verdict rests on.
	Reasons  []string `json:"reasons" col:"REASONS" ai:"why"`
	Status   string   `json:"status" ai:"st"`
	Restarts int      `json:"restarts" ai:"rs"`
	// RecentRestarts are the restarts inside the window, with causes.
	RecentRestarts []RestartEntry `json:"recent_restarts" ai:"-"`
	LastExit       string         `json:"last_exit,omitempty" ai:"exit"`
	Memory         int64          `json:"memory" fmt:"bytes" ai:"mem"`
	// MemorySlope is the least-squares trend of memory over the window,
	// in bytes per second.
	MemorySlope  float64       `json:"memory_slope" ai:"-"`
	Errors       int           `json:"errors" ai:"-"`
	ErrorsPerMin float64       `json:"errors_per_min" ai:"-"`
	Anomalies    []AnomalyInfo `json:"anomalies" ai:"-"`
	LastError    string        `json:"last_error,omitempty" ai:"last_err"`
	Window       string        `json:"window" ai:"-"`
}

// HealthOut judges each selected process (several for all or a cluster).
type HealthOut struct {
	Processes []Health `json:"processes"`
}

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

// ProcessHealth is process_health_summary.
var ProcessHealth = &tool.Def[HealthIn, HealthOut]{
	Name: "process_health_summary", CLI: "health", Title: "Process health", Effect: tool.ReadOnly,
	Summary: "Start here when a process misbehaves: healthy, degraded, failing or stopped, and why.",
	Run: func(ctx context.Context, d *tool.Deps, in HealthIn) (HealthOut, error) {
		if in.Window == "" {
			in.Window = "1h"
		}
		now := time.Now()
		since, _, err := RangeIn{Last: in.Window}.bounds(now)
		if err != nil {
			return HealthOut{}, fmt.Errorf("health: window: %w", err)
		}
		infos, err := targetInfos(d, in.Target)
		if err != nil {
			return HealthOut{}, fmt.Errorf("health: %w", err)
		}
		keepSecretsIf(ctx, infos)
		out := HealthOut{Processes: make([]Health, 0, len(infos))}
		for _, info := range infos {
			h, err := health(ctx, d, info, since, now, in.Window)
			if err != nil {
				return HealthOut{}, err
			}
			out.Processes = append(out.Processes, h)
		}
		return out, nil
	},
}

func health(ctx context.Context, d *tool.Deps, info supervisor.Info, since, now time.Time, window string) (Health, error) {
	name := info.LogName()
	h := Health{Process: name, Status: string(info.Status), Restarts: info.Restarts, Window: window,
		RecentRestarts: restartsIn([]supervisor.Info{info}, since, time.Time{}), Anomalies: []AnomalyInfo{}}
	if info.LastExit != nil {
		h.LastExit = info.LastExit.String()
		if info.LastExit.Uptime >= time.Second {
			h.LastExit += " after " + render.Duration(info.LastExit.Uptime)
		}
	}
	a, err := analyze(ctx, d, name, []supervisor.Info{info}, since, time.Time{})
	if err != nil {
		return Health{}, err
	}
	dg := a.Digest()
	h.Errors = dg.Errors
	from := since
	if dg.From.After(from) {
		from = dg.From
	}
	h.ErrorsPerMin = float64(dg.Errors) / max(now.Sub(from).Minutes(), 1)
	h.Anomalies = anomalyInfos(dg.Anomalies, since, time.Time{})
	if e := dg.LastError; e != nil {
		h.LastError = clip(e.String(), maxMsg)
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
		h.Verdict = Failing
	case info.Status == supervisor.Stopped || info.Status == supervisor.Stopping:
		h.Verdict = Stopped
	case len(degraded) > 0:
		h.Verdict = Degraded
	default:
		h.Verdict = Healthy
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

// WriteHuman implements render.HumanWriter: people get "api: degraded — reason;
// reason" per process.
func (o HealthOut) WriteHuman(w io.Writer, _ render.Options) error {
	var b strings.Builder
	for _, h := range o.Processes {
		fmt.Fprintf(&b, "%s: %s", h.Process, h.Verdict)
		if len(h.Reasons) > 0 {
			b.WriteString(" — " + strings.Join(h.Reasons, "; "))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
