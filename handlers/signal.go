package handlers

import (
	"context"
	"fmt"

	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tools"
)

// Signal answers process_signal.
var Signal = Bind(tools.Signal, func(ctx context.Context, d *Deps, in tools.SignalIn) (tools.ProcessesOut, error) {
	sig, err := supervisor.LookupSignal(in.Signal)
	if err != nil {
		return tools.ProcessesOut{}, fmt.Errorf("signal: %w", err)
	}
	ins, err := d.Procs.Signal(in.Target, sig, in.Group)
	if err != nil {
		return tools.ProcessesOut{}, err
	}
	return tools.ProcessesOut{Processes: processInfos(d, ins)}, nil
})
