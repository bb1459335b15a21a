package tools

import (
	"context"

	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tool"
)

// Stop is process_stop.
var Stop = &tool.Def[TargetIn, ProcessesOut]{
	Name: "process_stop", CLI: "stop", Title: "Stop processes", Effect: tool.Destructive, Idempotent: true,
	Summary: "Stop processes: stop signal to the group, SIGKILL after kill_timeout.",
	Run: func(ctx context.Context, d *tool.Deps, in TargetIn) (ProcessesOut, error) {
		ins, err := d.Procs.Stop(ctx, in.Target)
		return ProcessesOut{Processes: processInfos(d, ins)}, err
	},
}

// Restart is process_restart.
var Restart = &tool.Def[TargetIn, ProcessesOut]{
	Name: "process_restart", CLI: "restart", Title: "Restart processes", Effect: tool.Mutating,
	Summary: "Restart processes: a graceful stop, then a new start.",
	Run: func(ctx context.Context, d *tool.Deps, in TargetIn) (ProcessesOut, error) {
		ins, err := d.Procs.Restart(ctx, in.Target, supervisor.CauseManual)
		return ProcessesOut{Processes: processInfos(d, ins)}, err
	},
}

// Delete is process_delete.
var Delete = &tool.Def[TargetIn, ProcessesOut]{
	Name: "process_delete", CLI: "delete", Aliases: []string{"rm"}, Title: "Delete processes", Effect: tool.Destructive,
	Summary: "Stop processes and forget them.",
	Run: func(ctx context.Context, d *tool.Deps, in TargetIn) (ProcessesOut, error) {
		ins, err := d.Procs.Delete(ctx, in.Target)
		for _, p := range ins {
			if _, err := d.Procs.Resolve(p.Name); err != nil { // the last instance of that name is gone
				d.Specs.Delete(p.Name)
			}
		}
		return ProcessesOut{Processes: processInfos(d, ins)}, err
	},
}
