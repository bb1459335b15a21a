package tools

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/tool"
)

// StartIn describes what to start: one program with its keys as flags, or a
// velos.toml with every process in it. Every per-process config key is a
// flag here, from the one config.Process type, so the file and the CLI agree.
type StartIn struct {
	config.Process `embed:""`
	Name           string `json:"name,omitempty" brief:"-" help:"Process name (default: the script's base name without extension)."`
	// Profile is an env profile ([process.NAME.env.PROFILE] in a file) merged over env.
	Profile string   `json:"profile,omitempty" brief:"env_profiles key, merged over env" help:"Env profile merged over env, as in [process.NAME.env.PROFILE] of a config file."`
	Only    []string `json:"only,omitempty" sep:"," brief:"velos.toml processes only" help:"With a config file: start only these processes (comma-separated)."`
	// EnvFlags is the CLI's --env: KEY=VALUE sets a variable, a bare NAME picks
	// the profile (PM2's --env production). Prepare moves it into Env and Profile.
	EnvFlags []string `json:"-" name:"env" short:"e" sep:"none" placeholder:"KEY=VALUE|PROFILE" help:"KEY=VALUE sets an environment variable (repeatable); a bare NAME picks that env profile."`
}

// Start is process_start.
var Start = &tool.Def[StartIn, ProcessesOut]{
	Name: "process_start", CLI: "start", Title: "Start processes", Effect: tool.Mutating,
	Summary: "Run a program under supervision, or every process of a velos.toml.",
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
}

// IsConfigFile reports whether a start or reload target is a config file
// (velos.toml) rather than a program or a process name.
func IsConfigFile(script string) bool {
	return strings.HasSuffix(script, ".toml")
}
