package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/core/pm2"
	"github.com/velos-pm/velos/core/state"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tools"
)

// Reload answers process_reload.
var Reload = Bind(tools.Reload, func(ctx context.Context, d *Deps, in tools.ReloadIn) (tools.ReloadOut, error) {
	if tools.IsConfigFile(in.Target) {
		return reloadFile(ctx, d, in)
	}
	if pm2.IsFile(in.Target) {
		return tools.ReloadOut{}, fmt.Errorf("reload: a PM2 ecosystem file is not applied in place yet; velos import pm2 %s writes the velos.toml that velos reload takes", in.Target)
	}
	if len(in.Only) > 0 {
		return tools.ReloadOut{}, errors.New("reload: --only needs a config file (velos.toml)")
	}
	return reloadNames(ctx, d, in.Target, in.Profile)
})

func rows(d *Deps, ins []supervisor.Info, action string) []tools.ReloadRow {
	now := time.Now()
	out := make([]tools.ReloadRow, 0, len(ins))
	for _, in := range ins {
		out = append(out, tools.ReloadRow{ProcessInfo: processInfo(d, in, now), Action: action})
	}
	return out
}

// reloadNames restarts the target's processes one instance at a time. Each
// name's recorded config is resolved again first (env_file re-read, a
// profile switched with --env, a config_set of instances), so a reload also
// applies what changed.
func reloadNames(ctx context.Context, d *Deps, target, profile string) (tools.ReloadOut, error) {
	ins, err := d.Procs.Select(target)
	if err != nil {
		return tools.ReloadOut{}, fmt.Errorf("reload: %w", err)
	}
	var names []string
	byName := map[string][]supervisor.Info{}
	for _, in := range ins {
		if byName[in.Name] == nil {
			names = append(names, in.Name)
		}
		byName[in.Name] = append(byName[in.Name], in)
	}
	// Resolve every name before touching any: a bad profile or a vanished
	// env_file changes nothing.
	type plan struct {
		entry state.Entry
		spec  supervisor.Spec
		ok    bool
	}
	plans := map[string]plan{}
	for _, name := range names {
		e, ok := d.Specs.Get(name)
		if !ok {
			if profile != "" {
				return tools.ReloadOut{}, fmt.Errorf("reload %s --env %s: no recorded config to resolve the profile from", name, profile)
			}
			continue
		}
		if profile != "" {
			e.Profile = profile
		}
		spec, err := config.Resolve(e.Process, e.Name, e.Profile, e.Dir)
		if err != nil {
			return tools.ReloadOut{}, fmt.Errorf("reload %s: %w; nothing was restarted", name, err)
		}
		plans[name] = plan{entry: e, spec: spec, ok: true}
	}
	out := tools.ReloadOut{Processes: []tools.ReloadRow{}}
	for _, name := range names {
		cur := byName[name]
		pl := plans[name]
		var ins []supervisor.Info
		var err error
		switch {
		case pl.ok && !sameSpec(cur[0].Spec, pl.spec) && len(cur) == len(running(d, name)):
			// The whole process (not one instance by id) gets its new spec.
			ins, err = replace(ctx, d, pl.spec, CauseReload)
			d.Specs.Put(pl.entry)
			if err == nil {
				d.configChanged(name, "reload: its changed config applied")
			}
		default:
			if pl.ok {
				d.Specs.Put(pl.entry)
			}
			ins, err = rollingRestart(ctx, d, cur, CauseReload)
		}
		out.Processes = append(out.Processes, rows(d, ins, tools.ActionRestarted)...)
		if err != nil {
			return out, err
		}
	}
	syncCron(d)
	return out, nil
}

// reloadFile applies a config file: processes new to it are started,
// processes whose resolved spec changed are restarted with the new one (one
// instance at a time), the others are left running. Processes the file does
// not define are left alone, as PM2 does: removing a table is not a request
// to stop anything (use velos delete). The whole file is checked first; a
// bad file changes nothing.
func reloadFile(ctx context.Context, d *Deps, in tools.ReloadIn) (tools.ReloadOut, error) {
	f, err := config.Load(in.Target)
	if err != nil {
		return tools.ReloadOut{}, err
	}
	specs, err := f.Resolve(in.Profile)
	if err != nil {
		return tools.ReloadOut{}, err
	}
	var names []string
	for _, e := range f.Processes {
		names = append(names, e.Name)
	}
	for _, o := range in.Only {
		if !slices.Contains(names, o) {
			return tools.ReloadOut{}, fmt.Errorf("reload: --only %s: %s defines no such process; it has: %s", o, in.Target, strings.Join(names, ", "))
		}
	}
	out := tools.ReloadOut{Processes: []tools.ReloadRow{}}
	for i, s := range specs {
		if len(in.Only) > 0 && !slices.Contains(in.Only, s.Name) {
			continue
		}
		e := f.Processes[i]
		prof := in.Profile
		if _, ok := e.Process.EnvProfiles[prof]; !ok {
			prof = ""
		}
		entry := state.Entry{Name: s.Name, Profile: prof, Dir: f.Dir, Process: e.Process}
		cur := running(d, s.Name)
		var (
			ins    []supervisor.Info
			action string
		)
		switch {
		case len(cur) == 0:
			if err = d.mayStart(s); err == nil {
				ins, err = d.Procs.Start(s)
			}
			action = tools.ActionStarted
		case sameSpec(cur[0].Spec, s):
			ins, action = cur, tools.ActionUnchanged
		default:
			ins, err = replace(ctx, d, s, CauseReload)
			action = tools.ActionRestarted
		}
		if err != nil {
			return out, fmt.Errorf("%w; applied before it: %s", err, summary(out))
		}
		d.Specs.Put(entry)
		if action != tools.ActionUnchanged {
			d.configChanged(s.Name, "reload "+f.Path+": "+action)
		}
		out.Processes = append(out.Processes, rows(d, ins, action)...)
	}
	for _, in := range d.Procs.List() {
		if !slices.Contains(names, in.Name) {
			out.Processes = append(out.Processes, rows(d, []supervisor.Info{in}, tools.ActionKept)...)
		}
	}
	syncCron(d)
	return out, nil
}

func summary(out tools.ReloadOut) string {
	if len(out.Processes) == 0 {
		return "nothing"
	}
	var parts []string
	for _, r := range out.Processes {
		if p := r.Name + " " + r.Action; !slices.Contains(parts, p) { // one entry per name, not per instance
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// switchProfile reloads the processes called name with another env profile
// of their recorded config.
func switchProfile(ctx context.Context, d *Deps, name, profile string) (tools.ProcessesOut, error) {
	out, err := reloadNames(ctx, d, name, profile)
	if err != nil {
		return tools.ProcessesOut{}, err
	}
	ps := make([]tools.ProcessInfo, 0, len(out.Processes))
	for _, r := range out.Processes {
		ps = append(ps, r.ProcessInfo)
	}
	return tools.ProcessesOut{Processes: ps}, nil
}
