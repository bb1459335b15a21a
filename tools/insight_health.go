package tools

import (
	"fmt"
	"io"
	"strings"

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

// ProcessHealth is process_health_summary.
var ProcessHealth = &tool.Def[HealthIn, HealthOut]{
	Name: "process_health_summary", CLI: "health", Title: "Process health", Effect: tool.ReadOnly,
	Summary: "Start here when a process misbehaves: healthy, degraded, failing or stopped, and why.",
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
