package tools

import (
	"github.com/velos-pm/velos/tool"
)

// ListIn filters a listing.
type ListIn struct{}

// List is process_list.
var List = &tool.Def[ListIn, ProcessesOut]{
	Name: "process_list", CLI: "list", Aliases: []string{"ls"}, JSONAliases: []string{"jlist", "prettylist"},
	Title: "List processes", Effect: tool.ReadOnly,
	Summary: "Every process with its status, pid, CPU, memory, uptime and restarts.",
}
