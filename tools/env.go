package tools

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/velos-pm/velos/core/supervisor"
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
	Run: func(ctx context.Context, d *tool.Deps, in EnvIn) (EnvOut, error) {
		ins, err := d.Procs.Select(in.Target)
		if err != nil {
			return EnvOut{}, fmt.Errorf("env: %w", err)
		}
		out := EnvOut{Processes: make([]ProcessEnv, 0, len(ins))}
		for _, p := range ins {
			pe := ProcessEnv{ID: p.ID, Name: p.Name, Source: "config", Env: map[string]string{}}
			var vars []string
			if p.PID != 0 {
				if vs, err := supervisor.Environ(p.PID); err == nil {
					vars, pe.Source = vs, "process"
				}
			}
			if pe.Source == "config" {
				// What it will start with, as the supervisor builds it.
				if in.All {
					vars = os.Environ()
				}
				for _, k := range slices.Sorted(maps.Keys(p.Spec.Env)) {
					vars = append(vars, k+"="+p.Spec.Env[k])
				}
				vars = append(vars, "VELOS_NAME="+p.Name, "VELOS_ID="+strconv.Itoa(p.ID), "VELOS_INSTANCE="+strconv.Itoa(p.Instance))
			}
			for _, kv := range vars {
				k, v, _ := strings.Cut(kv, "=")
				// Without all: only what differs from the daemon's own
				// environment, i.e. what Velos and the config set.
				if cur, ok := os.LookupEnv(k); !in.All && ok && cur == v && p.Spec.Env[k] != v {
					continue
				}
				pe.Env[k] = v
			}
			out.Processes = append(out.Processes, pe)
		}
		return out, nil
	},
}
