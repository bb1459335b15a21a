package tools

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
	"github.com/velos-pm/velos/tool"
)

// StartIn describes what to start: one program with its keys as flags, or a
// velos.toml with every process in it. Every per-process config key is a
// flag here, from the one config.Process type, so the file and the CLI agree.
type StartIn struct {
	config.Process `embed:""`
	Name           string `json:"name,omitempty" brief:"-" help:"Process name (default: the script's base name without extension)."`
	// Profile is an env profile ([process.NAME.env.PROFILE] in a file) merged over env.
	Profile string   `json:"profile,omitempty" brief:"an env_profiles set, merged over env" help:"Env profile merged over env, as in [process.NAME.env.PROFILE] of a config file."`
	Only    []string `json:"only,omitempty" sep:"," brief:"velos.toml processes only" help:"With a config file: start only these processes (comma-separated)."`
	// EnvFlags is the CLI's --env: KEY=VALUE sets a variable, a bare NAME picks
	// the profile (PM2's --env production). Prepare moves it into Env and Profile.
	EnvFlags []string `json:"-" name:"env" short:"e" sep:"none" placeholder:"KEY=VALUE|PROFILE" help:"KEY=VALUE sets an environment variable (repeatable); a bare NAME picks that env profile."`
}

// Start is process_start.
var Start = &tool.Def[StartIn, ProcessesOut]{
	Name: "process_start", CLI: "start", Title: "Start processes", Effect: tool.Mutating,
	Summary: "Start a program under supervision (a file, command or shell line), or every process of a velos.toml.",
	Prepare: func(in *StartIn, cwd string) error {
		for _, kv := range in.EnvFlags {
			k, v, ok := strings.Cut(kv, "=")
			switch {
			case ok && k != "":
				if in.Env == nil {
					in.Env = map[string]string{}
				}
				in.Env[k] = v
			case !ok && kv != "" && in.Profile == "":
				in.Profile = kv
			default:
				return fmt.Errorf("--env %q: want KEY=VALUE or one profile name", kv)
			}
		}
		in.EnvFlags = nil
		// Relative paths are the user's, not the daemon's.
		if in.Cwd == "" {
			in.Cwd = cwd
		} else if !filepath.IsAbs(in.Cwd) {
			in.Cwd = filepath.Join(cwd, in.Cwd)
		}
		if in.Script != "" && !filepath.IsAbs(in.Script) {
			// A file named relative to the user's folder; a shell line (which
			// may hold paths, "echo x > /tmp/f") is left as written.
			_, err := os.Stat(filepath.Join(cwd, in.Script))
			if err == nil || strings.ContainsRune(in.Script, '/') && !config.IsShellLine(in.Script) {
				in.Script = filepath.Join(cwd, in.Script)
			}
		}
		return nil
	},
	Run: func(ctx context.Context, d *tool.Deps, in StartIn) (ProcessesOut, error) {
		if isConfigFile(in.Script) {
			return startFile(d, in)
		}
		if pm2.IsFile(in.Script) {
			return startEcosystem(ctx, d, in)
		}
		if len(in.Only) > 0 {
			return ProcessesOut{}, errors.New("start: --only needs a config file (velos.toml)")
		}
		if in.Script == "" {
			return ProcessesOut{}, errors.New("start: script: say what to run: a file, a command, or a velos.toml")
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
			return ProcessesOut{}, fmt.Errorf("start %s: %w", name, err)
		}
		ins, err := d.Procs.Start(spec)
		if err != nil {
			return ProcessesOut{}, err
		}
		d.Specs.Put(state.Entry{Name: name, Profile: in.Profile, Dir: base, Process: p})
		return ProcessesOut{Processes: processInfos(d, ins)}, nil
	},
}

func isConfigFile(script string) bool {
	return strings.HasSuffix(script, ".toml")
}

// startFile starts every process of a config file, or none: the whole file
// is checked first, and a start that fails undoes the ones before it.
func startFile(d *tool.Deps, in StartIn) (ProcessesOut, error) {
	f, err := config.Load(in.Script)
	if err != nil {
		return ProcessesOut{}, err
	}
	return startConfig(d, f, in)
}

// startConfig starts the processes of a loaded file (a velos.toml, or a PM2
// file mapped to one), all or none.
func startConfig(d *tool.Deps, f *config.File, in StartIn) (ProcessesOut, error) {
	specs, err := f.Resolve(in.Profile)
	if err != nil {
		return ProcessesOut{}, err
	}
	for _, o := range in.Only {
		if _, ok := f.Lookup(o); !ok {
			var names []string
			for _, e := range f.Processes {
				names = append(names, e.Name)
			}
			return ProcessesOut{}, fmt.Errorf("start: --only %s: %s defines no such process; it has: %s", o, in.Script, strings.Join(names, ", "))
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
			return ProcessesOut{}, fmt.Errorf("start %s: %w; nothing was started", s.Name, supervisor.ErrExists)
		}
	}
	var started []supervisor.Info
	for _, s := range chosen {
		ins, err := d.Procs.Start(s)
		if err != nil {
			for _, done := range started {
				_, _ = d.Procs.Delete(context.Background(), fmt.Sprint(done.ID))
			}
			return ProcessesOut{}, fmt.Errorf("%w; nothing was started", err)
		}
		started = append(started, ins...)
		e, _ := f.Lookup(s.Name)
		prof := in.Profile
		if _, ok := e.Process.EnvProfiles[prof]; !ok {
			prof = ""
		}
		d.Specs.Put(state.Entry{Name: s.Name, Profile: prof, Dir: f.Dir, Process: e.Process})
	}
	return ProcessesOut{Processes: processInfos(d, started)}, nil
}
