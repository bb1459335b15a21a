package tools

import (
	"fmt"
	"io"
	"strings"

	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
)

// PIDIn selects processes; every one by default.
type PIDIn struct {
	Target string `json:"target,omitempty" arg:"" optional:"" brief:"name, id or all (default)" help:"Process name, numeric id, or all (the default)."`
}

// PIDRow is one process's pid: 0 when it is not running.
type PIDRow struct {
	ID     int    `json:"id" col:"ID" ai:"id,keep"`
	Name   string `json:"name" col:"NAME"`
	PID    int    `json:"pid" col:"PID"`
	Status string `json:"status" col:"STATUS" ai:"st"`
}

// PIDOut is the pids of the processes a target selects.
type PIDOut struct {
	Processes []PIDRow `json:"processes"`
}

// WriteHuman implements [render.HumanWriter]: the pids of the running
// processes, one per line, as pm2 pid and pgrep print them.
func (o PIDOut) WriteHuman(w io.Writer, _ render.Options) error {
	var sb strings.Builder
	for _, p := range o.Processes {
		if p.PID != 0 {
			fmt.Fprintln(&sb, p.PID)
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// PID is process_pid.
var PID = &tool.Def[PIDIn, PIDOut]{
	Name: "process_pid", CLI: "pid", Title: "Process ids", Effect: tool.ReadOnly,
	Summary: "The pid of each process (0 when not running).",
}
