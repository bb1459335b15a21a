package handlers

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tools"
)

// Env answers process_env.
var Env = Bind(tools.Env, func(ctx context.Context, d *Deps, in tools.EnvIn) (tools.EnvOut, error) {
	ins, err := d.Procs.Select(in.Target)
	if err != nil {
		return tools.EnvOut{}, fmt.Errorf("env: %w", err)
	}
	out := tools.EnvOut{Processes: make([]tools.ProcessEnv, 0, len(ins))}
	for _, p := range ins {
		pe := tools.ProcessEnv{ID: p.ID, Name: p.Name, Source: "config", Env: map[string]string{}}
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
})
