package tools

import (
	"github.com/velos-pm/velos/tool"
)

// ScaleIn is a process and its new number of instances.
type ScaleIn struct {
	Name  string `json:"name" arg:"" brief:"-" help:"Process name."`
	Count string `json:"count" arg:"" brief:"4, +2 or -1" help:"Instances to run: a number (4), or a change of the running count: +2, or -1 after -- (velos scale web -- -1)."`
}

// Scale is process_scale.
var Scale = &tool.Def[ScaleIn, ProcessesOut]{
	Name: "process_scale", CLI: "scale", Title: "Change the number of instances", Effect: tool.Mutating,
	Summary: "Set how many instances run, in place.",
}
