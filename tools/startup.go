package tools

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/velos-pm/velos/core/startup"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
)

// StartupIn chooses the init system and the unit's scope.
type StartupIn struct {
	System string `json:"system,omitempty" arg:"" optional:"" enum:",systemd,launchd,openrc" default:"" brief:"-" help:"Init system: systemd, launchd or openrc (default: this machine's)."`
	// SystemWide: a unit root installs, running the daemon as this user.
	SystemWide bool `json:"system_wide,omitempty" name:"system" brief:"system unit, not per-user" help:"A system-wide unit (installed by root, runs the daemon as this user with User=) instead of a per-user one (systemd --user, launchd agent)."`
	Install    bool `json:"install,omitempty" brief:"write it, not just print" help:"Write the file to its place (default: only print it)."`
}

// StartupOut is the definition, where it goes and how to enable it.
type StartupOut struct {
	startup.Unit
	Installed bool `json:"installed,omitempty"`
	// Guessed says why the init system was not this machine's (none runs).
	Guessed string `json:"guessed,omitempty"`
}

// CLIWarnings implements [tool.Warner].
func (o StartupOut) CLIWarnings() []string {
	if o.Guessed == "" {
		return nil
	}
	return []string{o.Guessed}
}

// WriteHuman prints the definition alone, so it can be redirected to a
// file; after an install, where it went and what to run next.
func (o StartupOut) WriteHuman(w io.Writer, _ render.Options) error {
	if !o.Installed {
		_, err := io.WriteString(w, o.Content)
		return err
	}
	msg := fmt.Sprintf("wrote %s\nto enable it, run:\n  %s\n", o.Path, strings.Join(o.Enable, "\n  "))
	if o.Note != "" {
		msg += "note: " + o.Note + "\n"
	}
	_, err := io.WriteString(w, msg)
	return err
}

// Startup is daemon_startup.
var Startup = &tool.Def[StartupIn, StartupOut]{
	Name: "daemon_startup", CLI: "startup", Title: "Start velos at boot", Effect: tool.Mutating, Idempotent: true,
	Summary: "Print or install a boot unit (systemd, launchd, openrc) that resurrects the saved processes.",
	Run: func(ctx context.Context, d *tool.Deps, in StartupIn) (StartupOut, error) {
		system, guessed := in.System, ""
		if system == "" && !in.Install && runtime.GOOS == "linux" {
			// Printing needs no running init system (a container, an image
			// being built): show the systemd unit, which most Linux hosts run.
			if _, err := startup.Detect(); err != nil {
				system, guessed = startup.Systemd, "no init system is running here; this is the systemd unit (name another: velos startup openrc)"
			}
		}
		u, err := startupUnit(d, system, in.SystemWide)
		if err != nil {
			return StartupOut{}, err
		}
		out := StartupOut{Unit: u, Guessed: guessed}
		if in.Install {
			if err := startup.Install(u); err != nil {
				return StartupOut{}, fmt.Errorf("startup: %w (print it instead and install it as root: velos startup %s --system > FILE)", err, u.System)
			}
			out.Installed = true
		}
		return out, nil
	},
}

// UnstartupIn names the definition to remove.
type UnstartupIn struct {
	System     string `json:"system,omitempty" arg:"" optional:"" enum:",systemd,launchd,openrc" default:"" brief:"-" help:"Init system: systemd, launchd or openrc (default: this machine's)."`
	SystemWide bool   `json:"system_wide,omitempty" name:"system" brief:"-" help:"Remove the system-wide unit instead of the per-user one."`
}

// UnstartupOut says what was removed.
type UnstartupOut struct {
	Path    string `json:"path"`
	Removed bool   `json:"removed"`
	// Disable are the commands that stop the init system from using it;
	// run them before (or after) the removal.
	Disable []string `json:"disable"`
}

// Unstartup is daemon_unstartup.
var Unstartup = &tool.Def[UnstartupIn, UnstartupOut]{
	Name: "daemon_unstartup", CLI: "unstartup", Title: "Stop starting velos at boot", Effect: tool.Destructive, Idempotent: true,
	Summary: "Remove the boot unit written by startup --install.",
	Run: func(ctx context.Context, d *tool.Deps, in UnstartupIn) (UnstartupOut, error) {
		u, err := startupUnit(d, in.System, in.SystemWide)
		if err != nil {
			return UnstartupOut{}, err
		}
		removed, err := startup.Remove(u)
		if err != nil {
			return UnstartupOut{}, fmt.Errorf("unstartup: %w", err)
		}
		return UnstartupOut{Path: u.Path, Removed: removed, Disable: u.Disable}, nil
	},
}

// startupUnit generates the definition for the daemon answering: its
// binary, its VELOS_HOME and the account it runs as.
func startupUnit(d *tool.Deps, system string, wide bool) (startup.Unit, error) {
	exe, err := os.Executable()
	if err != nil {
		return startup.Unit{}, fmt.Errorf("startup: find the velos binary: %w", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	u, err := user.Current()
	if err != nil {
		return startup.Unit{}, fmt.Errorf("startup: who am I: %w", err)
	}
	home := d.Home
	if home == "" {
		home = filepath.Join(u.HomeDir, ".velos")
	}
	return startup.Generate(startup.Options{System: system, SystemWide: wide, Exe: exe, Home: home,
		User: u.Username, UserHome: u.HomeDir, Path: os.Getenv("PATH"), ConfigHome: os.Getenv("XDG_CONFIG_HOME")})
}
