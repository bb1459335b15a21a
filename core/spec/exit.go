package spec

import (
	"fmt"
	"time"
)

// Exit describes how one run of a process ended.
type Exit struct {
	Code   int           `json:"code"`             // exit status; -1 when killed by a signal
	Signal string        `json:"signal,omitempty"` // e.g. "SIGKILL" when killed by a signal
	Uptime time.Duration `json:"uptime"`
	// Reason is set when Velos ended the run itself because it failed: not
	// ready in time, or a missed watchdog heartbeat.
	Reason string `json:"reason,omitempty"`
	// NeverReady: the run ended before it was ready.
	NeverReady bool `json:"never_ready,omitempty"`
}

// Applies tells a renderer that the code of a run killed by a signal (-1)
// is not a code to show; the signal is.
func (e Exit) Applies(field string) bool { return field != "code" || e.Signal == "" }

// Failed reports whether the run ended badly: a non-zero status, a signal,
// or a failure Velos saw (Reason).
func (e Exit) Failed() bool { return e.Code != 0 || e.Signal != "" || e.Reason != "" }

// String is the restart cause shown to users: "exit 1", "SIGKILL", or the
// reason Velos ended it ("watchdog: …").
func (e Exit) String() string {
	if e.Reason != "" {
		return e.Reason
	}
	if e.Signal != "" {
		return e.Signal
	}
	return fmt.Sprintf("exit %d", e.Code)
}
