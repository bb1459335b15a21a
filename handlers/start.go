package handlers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/core/pm2"
	"github.com/velos-pm/velos/core/state"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tools"
)

// Start answers process_start.
var Start = Bind(tools.Start, func(ctx context.Context, d *Deps, in tools.StartIn) (tools.ProcessesOut, error) {
	if tools.IsConfigFile(in.Script) {
		return startFile(d, in)
	}
	if pm2.IsFile(in.Script) {
		return startEcosystem(ctx, d, in)
	}
	if len(in.Only) > 0 {
		return tools.ProcessesOut{}, errors.New("start: --only needs a config file (velos.toml)")
	}
	if in.Script == "" {
		return tools.ProcessesOut{}, errors.New("start: script: say what to run: a file, a command, or a velos.toml")
	}
	name := in.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(strings.Fields(in.Script)[0]), filepath.Ext(in.Script))
	}
	if _, known := d.Specs.Get(name); known && in.Profile != "" {
		// `velos start api --env staging` on a running api: run it with
		// that profile of its recorded config (as reload --env does).
		return switchProfile(ctx, d, name, in.Profile)
	}
	base := in.Cwd
	if base == "" {
		base, _ = os.Getwd()
	}
	p := in.Process
	p.Cwd = "" // base is the cwd; keep the stored form free of it unless asked for
	if in.Cwd != "" {
		p.Cwd = in.Cwd
	}
	spec, err := config.Resolve(p, name, in.Profile, base)
	if err != nil {
		return tools.ProcessesOut{}, fmt.Errorf("start %s: %w", name, err)
	}
	if err := d.mayStart(spec); err != nil {
		return tools.ProcessesOut{}, err
	}
	ins, err := d.Procs.Start(spec)
	if err != nil {
		return tools.ProcessesOut{}, err
	}
	d.Specs.Put(state.Entry{Name: name, Profile: in.Profile, Dir: base, Process: p})
	measureNow(ctx, d, ins)
	return tools.ProcessesOut{Processes: processInfos(d, ins)}, nil
})

// startFile starts every process of a config file, or none: the whole file
// is checked first, and a start that fails undoes the ones before it.
func startFile(d *Deps, in tools.StartIn) (tools.ProcessesOut, error) {
	f, err := config.Load(in.Script)
	if err != nil {
		return tools.ProcessesOut{}, err
	}
	return startConfig(d, f, in)
}

// startConfig starts the processes of a loaded file (a velos.toml, or a PM2
// file mapped to one), all or none.
func startConfig(d *Deps, f *config.File, in tools.StartIn) (tools.ProcessesOut, error) {
	specs, err := f.Resolve(in.Profile)
	if err != nil {
		return tools.ProcessesOut{}, err
	}
	for _, o := range in.Only {
		if _, ok := f.Lookup(o); !ok {
			var names []string
			for _, e := range f.Processes {
				names = append(names, e.Name)
			}
			return tools.ProcessesOut{}, fmt.Errorf("start: --only %s: %s defines no such process; it has: %s", o, in.Script, strings.Join(names, ", "))
		}
	}
	var chosen []supervisor.Spec
	for _, s := range specs {
		if len(in.Only) == 0 || slices.Contains(in.Only, s.Name) {
			chosen = append(chosen, s)
		}
	}
	for _, s := range chosen {
		if _, err := d.Procs.Resolve(s.Name); err == nil {
			return tools.ProcessesOut{}, fmt.Errorf("start %s: %w; nothing was started", s.Name, supervisor.ErrExists)
		}
	}
	if err := d.mayStart(chosen...); err != nil {
		return tools.ProcessesOut{}, fmt.Errorf("%w; nothing was started", err)
	}
	var started []supervisor.Info
	for _, s := range chosen {
		ins, err := d.Procs.Start(s)
		if err != nil {
			for _, done := range started {
				_, _ = d.Procs.Delete(context.Background(), fmt.Sprint(done.ID))
			}
			return tools.ProcessesOut{}, fmt.Errorf("%w; nothing was started", err)
		}
		started = append(started, ins...)
		e, _ := f.Lookup(s.Name)
		prof := in.Profile
		if _, ok := e.Process.EnvProfiles[prof]; !ok {
			prof = ""
		}
		d.Specs.Put(state.Entry{Name: s.Name, Profile: prof, Dir: f.Dir, Process: e.Process})
		d.configChanged(s.Name, "started from "+f.Path)
	}
	measureNow(context.Background(), d, started)
	return tools.ProcessesOut{Processes: processInfos(d, started)}, nil
}
