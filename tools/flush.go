package tools

import (
	"github.com/velos-pm/velos/tool"
)

// FlushIn names whose logs to empty.
type FlushIn struct {
	Target string `json:"target,omitempty" arg:"" optional:"" brief:"name, id or all (default)" help:"Process name, numeric id, or all (the default)."`
}

// FlushOut names the logs emptied.
type FlushOut struct {
	Flushed []string `json:"flushed"`
}

// Flush is log_flush.
var Flush = &tool.Def[FlushIn, FlushOut]{
	Name: "log_flush", CLI: "flush", Title: "Empty logs", Effect: tool.Destructive, Idempotent: true,
	Summary: "Empty processes' log files.",
}
