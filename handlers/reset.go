package handlers

import (
	"context"

	"github.com/velos-pm/velos/tools"
)

// Reset answers process_reset.
var Reset = Bind(tools.Reset, func(ctx context.Context, d *Deps, in tools.TargetIn) (tools.ProcessesOut, error) {
	ins, err := d.Procs.Reset(in.Target)
	if err != nil {
		return tools.ProcessesOut{}, err
	}
	return tools.ProcessesOut{Processes: processInfos(d, ins)}, nil
})
