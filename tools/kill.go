package tools

import (
	"context"

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
	Summary: "Stop every process gracefully, flush logs, then stop the velos daemon.",
	Run: func(ctx context.Context, d *tool.Deps, in KillIn) (KillOut, error) {
		n := len(d.Procs.List())
		err := d.Procs.Shutdown(ctx)
		d.Shutdown()
		return KillOut{Stopped: n}, err
	},
}
