package tools

import (
	"context"

	"github.com/velos-pm/velos/tool"
)

// ListIn filters a listing.
type ListIn struct{}

// List is process_list.
var List = &tool.Def[ListIn, ProcessesOut]{
	Name: "process_list", CLI: "list", Aliases: []string{"ls"}, JSONAliases: []string{"jlist", "prettylist"},
	Title: "List processes", Effect: tool.ReadOnly,
	Summary: "Every process with its status, pid, CPU, memory, uptime and restarts.",
	Run: func(ctx context.Context, d *tool.Deps, in ListIn) (ProcessesOut, error) {
		ins := d.Procs.List()
		// A process started a moment ago has no figures yet: measure it now
		// rather than show 0B until the sampler's next pass.
		sampleIfStale(ctx, d, ins, 0)
		return ProcessesOut{Processes: processInfos(d, ins)}, nil
	},
}
