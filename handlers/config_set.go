package handlers

import (
	"context"
	"fmt"
	"slices"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/tools"
)

// ConfigSet answers config_set.
var ConfigSet = Bind(tools.ConfigSet, setKey)

// setKey changes one key of a process's recorded config and applies it as
// far as it can without a restart: a new instance count scales at once.
func setKey(ctx context.Context, d *Deps, in tools.ConfigSetIn) (tools.ConfigSetOut, error) {
	e, err := specEntry(d, in.Name)
	if err != nil {
		return tools.ConfigSetOut{}, fmt.Errorf("config set: %w", err)
	}
	p := e.Process
	if err := config.SetKey(&p, in.Key, in.Value); err != nil {
		return tools.ConfigSetOut{}, fmt.Errorf("config set %s: %w", e.Name, err)
	}
	spec, err := config.Resolve(p, e.Name, e.Profile, e.Dir)
	if err != nil {
		return tools.ConfigSetOut{}, fmt.Errorf("config set %s %s: %w", e.Name, in.Key, err)
	}
	out := tools.ConfigSetOut{Name: e.Name, Key: in.Key, Applied: tools.AppliedNone}
	if v, err := config.GetKey(p, in.Key); err == nil {
		out.Value = v
	}
	cur := running(d, e.Name)
	e.Process = p
	switch {
	case len(cur) == 0:
		d.Specs.Put(e)
		d.configChanged(e.Name, "config_set "+in.Key+" (applied: "+out.Applied+")")
		return out, nil
	case cur[0].Spec.Instances != spec.WithDefaults().Instances:
		// A new count applies at once: new instances join, the last ones
		// leave (as velos scale).
		if _, err := d.Procs.Scale(ctx, e.Name, spec.WithDefaults().Instances); err != nil {
			return tools.ConfigSetOut{}, fmt.Errorf("config set %s: %w", e.Name, err)
		}
		out.Applied = tools.AppliedNow
		cur = running(d, e.Name)
	}
	changed := changedFields(cur[0].Spec, spec)
	if len(changed) > 0 {
		// Another program (or folder) is a start an agent may not make.
		if slices.Contains(changed, "Command") || slices.Contains(changed, "Cwd") {
			if err := d.mayStart(spec); err != nil {
				return tools.ConfigSetOut{}, fmt.Errorf("config set %s: %w", e.Name, err)
			}
		}
		if _, err := d.Procs.Update(e.Name, spec); err != nil {
			return tools.ConfigSetOut{}, fmt.Errorf("config set %s: %w", e.Name, err)
		}
		out.Applied = tools.AppliedRestart
		if onlyLive(changed) {
			out.Applied = tools.AppliedNow
		}
	}
	d.Specs.Put(e)
	syncCron(d)
	d.configChanged(e.Name, "config_set "+in.Key+" (applied: "+out.Applied+")")
	return out, nil
}
