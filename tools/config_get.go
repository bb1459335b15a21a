package tools

import (
	"context"
	"fmt"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/core/state"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tool"
)

// ConfigGetIn names a process and, optionally, one key.
type ConfigGetIn struct {
	Name string `json:"name" arg:"" brief:"-" help:"Process name."`
	Key  string `json:"key,omitempty" arg:"" optional:"" brief:"e.g. env.PORT (default: all)" help:"One key path, e.g. max_memory, env.PORT or env.staging.PORT (default: every key)."`
}

// ConfigGetOut is a process's config as it was asked for (the config-file
// form, as velos save writes it), or one key of it.
type ConfigGetOut struct {
	Name string `json:"name"`
	// Profile is the env profile it runs with, if any.
	Profile string `json:"profile,omitempty"`
	// Dir is the folder relative paths resolve against.
	Dir string `json:"dir,omitempty"`
	// Key and Value are set when one key was asked for; Value is absent
	// when the key is unset (its default applies).
	Key   string `json:"key,omitempty"`
	Value any    `json:"value,omitempty"`
	// Default is what applies when the key asked for is unset.
	Default string `json:"default,omitempty"`
	// Config is every key that is set, when no key was asked for.
	Config *config.Process `json:"config,omitempty"`
}

// ConfigGet is config_get.
var ConfigGet = &tool.Def[ConfigGetIn, ConfigGetOut]{
	Name: "config_get", CLI: "config get", Title: "Show a process's config", Effect: tool.ReadOnly,
	Summary: "A process's config as given (keys, env, env profiles), or one key's value.",
	Run: func(ctx context.Context, d *tool.Deps, in ConfigGetIn) (ConfigGetOut, error) {
		e, err := specEntry(d, in.Name)
		if err != nil {
			return ConfigGetOut{}, fmt.Errorf("config get: %w", err)
		}
		out := ConfigGetOut{Name: e.Name, Profile: e.Profile, Dir: e.Dir}
		if in.Key == "" {
			p := e.Process
			out.Config = &p
			return out, nil
		}
		v, err := config.GetKey(e.Process, in.Key)
		if err != nil {
			return ConfigGetOut{}, fmt.Errorf("config get %s: %w", in.Name, err)
		}
		out.Key, out.Value = in.Key, v
		if isUnset(v) {
			out.Default = keyDefaults[in.Key]
		}
		return out, nil
	},
}

// keyDefaults are the documented defaults of keys whose unset value means
// something other than nothing.
var keyDefaults = map[string]string{
	"autorestart":       string(supervisor.Always),
	"mode":              "fork",
	"instances":         "1",
	"kill_timeout":      supervisor.DefaultKillTimeout.String(),
	"kill_signal":       supervisor.DefaultKillSignal,
	"restart_delay":     supervisor.DefaultBackoffMin.String(),
	"max_restart_delay": supervisor.DefaultBackoffMax.String(),
	"restart_factor":    fmt.Sprint(supervisor.DefaultBackoffFactor),
	"min_uptime":        supervisor.DefaultMinUptime.String(),
	"max_restarts":      fmt.Sprint(supervisor.DefaultMaxRestarts),
	"restart_window":    supervisor.DefaultRestartWindow.String(),
}

func isUnset(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case int:
		return x == 0
	case float64:
		return x == 0
	}
	return false
}

// specEntry is the recorded config of the process called name; a numeric
// id is accepted too.
func specEntry(d *tool.Deps, name string) (state.Entry, error) {
	if e, ok := d.Specs.Get(name); ok {
		return e, nil
	}
	ps, err := d.Procs.Resolve(name)
	if err != nil {
		return state.Entry{}, err
	}
	for _, in := range d.Procs.List() {
		if in.ID == ps[0].ID() {
			if e, ok := d.Specs.Get(in.Name); ok {
				return e, nil
			}
			return state.Entry{}, fmt.Errorf("%s has no recorded config", in.Name)
		}
	}
	return state.Entry{}, fmt.Errorf("%w %q", supervisor.ErrUnknown, name)
}
