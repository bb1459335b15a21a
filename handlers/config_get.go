package handlers

import (
	"context"
	"fmt"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/core/state"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tools"
)

// ConfigGet answers config_get.
var ConfigGet = Bind(tools.ConfigGet, func(ctx context.Context, d *Deps, in tools.ConfigGetIn) (tools.ConfigGetOut, error) {
	e, err := specEntry(d, in.Name)
	if err != nil {
		return tools.ConfigGetOut{}, fmt.Errorf("config get: %w", err)
	}
	out := tools.ConfigGetOut{Name: e.Name, Profile: e.Profile, Dir: e.Dir}
	if in.Key == "" {
		p := e.Process
		out.Config = &p
		return out, nil
	}
	v, err := config.GetKey(e.Process, in.Key)
	if err != nil {
		return tools.ConfigGetOut{}, fmt.Errorf("config get %s: %w", in.Name, err)
	}
	out.Key, out.Value = in.Key, v
	if isUnset(v) {
		out.Default = keyDefaults[in.Key]
	}
	return out, nil
})

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
func specEntry(d *Deps, name string) (state.Entry, error) {
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
