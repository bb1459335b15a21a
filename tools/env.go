package tools

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
)

// EnvIn selects processes and how much of their environment to show.
type EnvIn struct {
	Target string `json:"target" arg:"" brief:"name, id or all" help:"Process name, numeric id, or all."`
	All    bool   `json:"all,omitempty" brief:"inherited ones too" help:"Every variable, those the process inherits from the daemon too."`
}

// ProcessEnv is one process's environment.
type ProcessEnv struct {
	ID   int    `json:"id" ai:"id,keep"`
	Name string `json:"name"`
	// Source is "process" when read from the running process, or "config"
	// when it is not running: what it will start with.
	Source string            `json:"source"`
	Env    map[string]string `json:"env"`
}

// EnvOut is the environments of the processes a target selects.
type EnvOut struct {
	Processes []ProcessEnv `json:"processes"`
}

// WriteHuman implements [render.HumanWriter]: NAME=value lines, sorted, as
// env prints them; a header per process when there are several.
func (o EnvOut) WriteHuman(w io.Writer, _ render.Options) error {
	var sb strings.Builder
	for i, p := range o.Processes {
		if len(o.Processes) > 1 {
			if i > 0 {
				sb.WriteByte('\n')
			}
			fmt.Fprintf(&sb, "# %s (id %d, from the %s)\n", p.Name, p.ID, p.Source)
		}
		for _, k := range slices.Sorted(maps.Keys(p.Env)) {
			fmt.Fprintf(&sb, "%s=%s\n", k, p.Env[k])
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// Env is process_env.
var Env = &tool.Def[EnvIn, EnvOut]{
	Name: "process_env", CLI: "env", Title: "Process environment", Effect: tool.ReadOnly,
	Summary: "The environment a process runs with (all: inherited too).",
}
