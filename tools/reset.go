package tools

import (
	"github.com/velos-pm/velos/tool"
)

// Reset is process_reset.
var Reset = &tool.Def[TargetIn, ProcessesOut]{
	Name: "process_reset", CLI: "reset", Title: "Reset restart counters", Effect: tool.Destructive, Idempotent: true,
	Summary: "Zero restart counts; processes keep running.",
}
