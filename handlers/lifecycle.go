package handlers

import (
	"context"

	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tools"
)

// Stop answers process_stop.
var Stop = Bind(tools.Stop, func(ctx context.Context, d *Deps, in tools.TargetIn) (tools.ProcessesOut, error) {
	ins, err := d.Procs.Stop(ctx, in.Target)
	return tools.ProcessesOut{Processes: processInfos(d, ins)}, err
})

// Restart answers process_restart.
var Restart = Bind(tools.Restart, func(ctx context.Context, d *Deps, in tools.TargetIn) (tools.ProcessesOut, error) {
	ins, err := d.Procs.Restart(ctx, in.Target, supervisor.CauseManual)
	return tools.ProcessesOut{Processes: processInfos(d, ins)}, err
})

// Delete answers process_delete.
var Delete = Bind(tools.Delete, func(ctx context.Context, d *Deps, in tools.TargetIn) (tools.ProcessesOut, error) {
	ins, err := d.Procs.Delete(ctx, in.Target)
	for _, p := range ins {
		if _, err := d.Procs.Resolve(p.Name); err != nil { // the last instance of that name is gone
			d.Specs.Delete(p.Name)
		}
	}
	return tools.ProcessesOut{Processes: processInfos(d, ins)}, err
})
