package handlers

import (
	"context"
	"fmt"

	"github.com/velos-pm/velos/tools"
)

// PID answers process_pid.
var PID = Bind(tools.PID, func(ctx context.Context, d *Deps, in tools.PIDIn) (tools.PIDOut, error) {
	if in.Target == "" {
		in.Target = "all"
	}
	out := tools.PIDOut{Processes: []tools.PIDRow{}}
	if in.Target == "all" && len(d.Procs.List()) == 0 {
		return out, nil
	}
	ins, err := d.Procs.Select(in.Target)
	if err != nil {
		return tools.PIDOut{}, fmt.Errorf("pid: %w", err)
	}
	for _, p := range ins {
		out.Processes = append(out.Processes, tools.PIDRow{ID: p.ID, Name: p.Name, PID: p.PID, Status: string(p.Status)})
	}
	return out, nil
})
