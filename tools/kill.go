package tools

import (
	"time"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/tool"
)

// KillIn takes nothing.
type KillIn struct{}

// KillOut reports what the daemon stopped before exiting.
type KillOut struct {
	Stopped int `json:"stopped"`
}

// Kill is daemon_kill.
var Kill = &tool.Def[KillIn, KillOut]{
	Name: "daemon_kill", CLI: "kill", Title: "Stop the daemon", Effect: tool.Destructive, NoAutostart: true,
	Summary: "Stop every process gracefully, then the daemon.",
	// When velos kill returns, the daemon is gone: a command right after it
	// starts a fresh one.
	After: func(t *tool.Term) error { return daemon.WaitStopped(daemon.Home{Dir: t.Home}, 30*time.Second) },
}
