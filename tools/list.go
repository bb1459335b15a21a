package tools

import (
	"context"

	"github.com/velos-pm/velos/tool"
)

// ListIn filters a listing.
type ListIn struct{}

// List is process_list.
var List = &tool.Def[ListIn, ProcessesOut]{
	Name: "process_list", CLI: "list", Aliases: []string{"ls"},
	Title: "List processes", Effect: tool.ReadOnly,
	Summary: "List every managed process with its status, pid, CPU, memory, uptime and restarts.",
	Run: func(ctx context.Context, d *tool.Deps, in ListIn) (ProcessesOut, error) {
		return ProcessesOut{Processes: processInfos(d, d.Procs.List())}, nil
	},
}
