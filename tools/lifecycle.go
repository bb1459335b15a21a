package tools

import (
	"github.com/velos-pm/velos/tool"
)

// Stop is process_stop.
var Stop = &tool.Def[TargetIn, ProcessesOut]{
	Name: "process_stop", CLI: "stop", Title: "Stop processes", Effect: tool.Destructive, Idempotent: true, Progress: true,
	Summary: "Stop processes: stop signal to the group, SIGKILL after kill_timeout.",
}

// Restart is process_restart.
var Restart = &tool.Def[TargetIn, ProcessesOut]{
	Name: "process_restart", CLI: "restart", Title: "Restart processes", Effect: tool.Mutating,
	Summary: "Restart processes: a graceful stop, then a new start.",
}

// Delete is process_delete.
var Delete = &tool.Def[TargetIn, ProcessesOut]{
	Name: "process_delete", CLI: "delete", Aliases: []string{"rm"}, Title: "Delete processes", Effect: tool.Destructive,
	Summary: "Stop processes and forget them.",
}
