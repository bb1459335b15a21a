package handlers

import (
	"context"

	"github.com/velos-pm/velos/tools"
)

// List answers process_list.
var List = Bind(tools.List, func(ctx context.Context, d *Deps, in tools.ListIn) (tools.ProcessesOut, error) {
	return ProcessList(ctx, d)
})

// ProcessList is every process as process_list lists it (also the
// velos://processes resource).
func ProcessList(ctx context.Context, d *Deps) (tools.ProcessesOut, error) {
	ins := d.Procs.List()
	// A process started a moment ago has no figures yet: measure it now
	// rather than show 0B until the sampler's next pass.
	sampleIfStale(ctx, d, ins, 0)
	return tools.ProcessesOut{Processes: processInfos(d, ins)}, nil
}
