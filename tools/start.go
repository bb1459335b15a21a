package tools

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tool"
)

// StartIn describes a process to start.
type StartIn struct {
	Script      string   `json:"script" arg:"" help:"What to run: a script (app.js, app.py, app.sh), a path to an executable, or a command on PATH."`
	Args        []string `json:"args,omitempty" arg:"" optional:"" help:"Arguments for the program, after --."`
	Name        string   `json:"name,omitempty" help:"Process name (default: the script's base name without extension)."`
	Cwd         string   `json:"cwd,omitempty" help:"Working directory (default: the current one)."`
	Env         []string `json:"env,omitempty" sep:"none" placeholder:"KEY=VALUE" help:"Environment variable for the process, KEY=VALUE; repeatable."`
	Interpreter string   `json:"interpreter,omitempty" help:"Interpreter to run the script with (default: by extension: .js node, .py python3, .sh bash)."`
	Autorestart string   `json:"autorestart,omitempty" enum:"always,on-failure,never," default:"always" help:"When to restart after an exit: ${enum}."`
	KillTimeout string   `json:"kill_timeout,omitempty" help:"Grace between the kill signal and SIGKILL, e.g. 5s."`
	MaxRestarts int      `json:"max_restarts,omitempty" help:"Automatic restarts inside restart_window before the process is errored (default 10)."`
}

// Start is process_start.
var Start = &tool.Def[StartIn, ProcessesOut]{
	Name: "process_start", CLI: "start", Title: "Start a process", Effect: tool.Mutating,
	Summary: "Start a program under supervision: any executable, script or command line; restarted when it exits.",
	Prepare: func(in *StartIn, cwd string) error {
		if in.Cwd == "" {
			in.Cwd = cwd
		} else if !filepath.IsAbs(in.Cwd) {
			in.Cwd = filepath.Join(cwd, in.Cwd)
		}
		return nil
	},
	Run: func(ctx context.Context, d *tool.Deps, in StartIn) (ProcessesOut, error) {
		spec, err := specOf(in)
		if err != nil {
			return ProcessesOut{}, err
		}
		ins, err := d.Procs.Start(spec)
		return ProcessesOut{Processes: processInfos(ins)}, err
	},
}

var interpreters = map[string]string{
	".js": "node", ".mjs": "node", ".cjs": "node", ".py": "python3", ".sh": "bash",
	".rb": "ruby", ".pl": "perl", ".php": "php",
}

func specOf(in StartIn) (supervisor.Spec, error) {
	if in.Script == "" {
		return supervisor.Spec{}, fmt.Errorf("start: script: empty")
	}
	cwd := in.Cwd
	if cwd == "" {
		cwd, _ = os.Getwd()
	}
	if fi, err := os.Stat(cwd); err != nil || !fi.IsDir() {
		return supervisor.Spec{}, fmt.Errorf("start: cwd %s: not a directory", cwd)
	}
	name := in.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(in.Script), filepath.Ext(in.Script))
	}
	var command []string
	path := in.Script
	if !filepath.IsAbs(path) {
		path = filepath.Join(cwd, path)
	}
	interp := in.Interpreter
	if _, err := os.Stat(path); err == nil {
		if interp == "" {
			interp = interpreters[filepath.Ext(path)]
		}
		if interp != "" && interp != "none" {
			command = append(strings.Fields(interp), path)
		} else {
			command = []string{path}
		}
	} else if strings.ContainsAny(in.Script, "/") || interpreters[filepath.Ext(in.Script)] != "" {
		return supervisor.Spec{}, fmt.Errorf("start %s: script %s: no such file", name, path)
	} else {
		command = []string{in.Script}
		if interp != "" {
			command = append(strings.Fields(interp), in.Script)
		}
	}
	command = append(command, in.Args...)
	env := map[string]string{}
	for _, kv := range in.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return supervisor.Spec{}, fmt.Errorf("start %s: env %q: want KEY=VALUE", name, kv)
		}
		env[k] = v
	}
	spec := supervisor.Spec{Name: name, Command: command, Cwd: cwd, Env: env,
		Autorestart: supervisor.Policy(in.Autorestart), MaxRestarts: in.MaxRestarts}
	if in.KillTimeout != "" {
		d, err := time.ParseDuration(in.KillTimeout)
		if err != nil || d <= 0 {
			return supervisor.Spec{}, fmt.Errorf("start %s: kill_timeout %q: want a duration like 5s", name, in.KillTimeout)
		}
		spec.KillTimeout = d
	}
	return spec, spec.Validate()
}
