package tools

import (
	"context"
	"fmt"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/tool"
)

// ConfigSetIn is one key to change.
type ConfigSetIn struct {
	Name  string `json:"name" arg:"" brief:"-" help:"Process name."`
	Key   string `json:"key" arg:"" brief:"e.g. max_memory, env.PORT" help:"Key path, e.g. max_memory, autorestart, env.PORT or env.staging.PORT."`
	Value string `json:"value" arg:"" brief:"as in a config file, e.g. 512M; empty clears" help:"New value as written in a config file: 512M, 5s, true, [\"a\",\"b\"] or a,b; empty clears the key."`
}

// When a config change takes effect.
const (
	AppliedNow     = "applied"         // the running process uses it already
	AppliedRestart = "at next restart" // the next start of the process uses it
	AppliedReload  = "at next reload"  // `velos reload NAME` applies it
	AppliedNone    = "unchanged"       // the process would run the same way
)

// ConfigSetOut is the key after the change and when it takes effect.
type ConfigSetOut struct {
	Name  string `json:"name"`
	Key   string `json:"key"`
	Value any    `json:"value,omitempty"`
	// Applied: "applied" (in effect now: restart policy, kill_timeout,
	// kill_signal, max_memory, cron_restart), "at next restart" (command,
	// cwd, env …), "at next reload" (instances: velos reload NAME), or
	// "unchanged".
	Applied string `json:"applied"`
}

// ConfigSet is config_set.
var ConfigSet = &tool.Def[ConfigSetIn, ConfigSetOut]{
	Name: "config_set", CLI: "config set", Title: "Change one config key", Effect: tool.Mutating,
	Summary: "Change one config key of a process; applied now where safe, else at the next restart.",
	Run: func(ctx context.Context, d *tool.Deps, in ConfigSetIn) (ConfigSetOut, error) {
		e, err := specEntry(d, in.Name)
		if err != nil {
			return ConfigSetOut{}, fmt.Errorf("config set: %w", err)
		}
		p := e.Process
		if err := config.SetKey(&p, in.Key, in.Value); err != nil {
			return ConfigSetOut{}, fmt.Errorf("config set %s: %w", e.Name, err)
		}
		spec, err := config.Resolve(p, e.Name, e.Profile, e.Dir)
		if err != nil {
			return ConfigSetOut{}, fmt.Errorf("config set %s %s: %w", e.Name, in.Key, err)
		}
		out := ConfigSetOut{Name: e.Name, Key: in.Key, Applied: AppliedNone}
		if v, err := config.GetKey(p, in.Key); err == nil {
			out.Value = v
		}
		cur := running(d, e.Name)
		e.Process = p
		switch {
		case len(cur) == 0:
			d.Specs.Put(e)
			return out, nil
		case cur[0].Spec.Instances != spec.WithDefaults().Instances:
			// A new count applies at once: new instances join, the last ones
			// leave (as velos scale).
			if _, err := d.Procs.Scale(ctx, e.Name, spec.WithDefaults().Instances); err != nil {
				return ConfigSetOut{}, fmt.Errorf("config set %s: %w", e.Name, err)
			}
			out.Applied = AppliedNow
			cur = running(d, e.Name)
		}
		changed := changedFields(cur[0].Spec, spec)
		if len(changed) > 0 {
			if _, err := d.Procs.Update(e.Name, spec); err != nil {
				return ConfigSetOut{}, fmt.Errorf("config set %s: %w", e.Name, err)
			}
			out.Applied = AppliedRestart
			if onlyLive(changed) {
				out.Applied = AppliedNow
			}
		}
		d.Specs.Put(e)
		syncCron(d)
		return out, nil
	},
}
