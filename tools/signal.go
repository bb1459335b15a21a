package tools

import (
	"github.com/velos-pm/velos/tool"
)

// SignalIn names a signal and the processes that get it.
type SignalIn struct {
	Signal string `json:"signal" arg:"" brief:"e.g. SIGUSR2, HUP, 10" help:"Signal name or number, e.g. SIGUSR2, HUP or 10."`
	Target string `json:"target" arg:"" brief:"name, id or all" help:"Process name, numeric id, or all."`
	Group  bool   `json:"group,omitempty" brief:"the whole process group" help:"Signal the whole process group, not only the process Velos started."`
}

// Signal is process_signal.
var Signal = &tool.Def[SignalIn, ProcessesOut]{
	Name: "process_signal", CLI: "signal", Aliases: []string{"sendSignal"}, Title: "Send a signal", Effect: tool.Destructive,
	Summary: "Send a signal to running processes.",
}
