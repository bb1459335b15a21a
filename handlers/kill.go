package handlers

import (
	"context"

	"github.com/velos-pm/velos/tools"
)

// Kill answers daemon_kill.
var Kill = Bind(tools.Kill, func(ctx context.Context, d *Deps, in tools.KillIn) (tools.KillOut, error) {
	n := len(d.Procs.List())
	err := d.Procs.Shutdown(ctx)
	d.Shutdown()
	return tools.KillOut{Stopped: n}, err
})
