package handlers

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/core/startup"
	"github.com/velos-pm/velos/tools"
)

// Startup answers daemon_startup.
var Startup = Bind(tools.Startup, func(ctx context.Context, d *Deps, in tools.StartupIn) (tools.StartupOut, error) {
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
		return tools.StartupOut{}, err
	}
	out := tools.StartupOut{Unit: u, Guessed: guessed}
	if in.Install {
		if err := startup.Install(u); err != nil {
			return tools.StartupOut{}, fmt.Errorf("startup: %w (print it instead and install it as root: velos startup %s --system > FILE)", err, u.System)
		}
		out.Installed = true
	}
	return out, nil
})

// Unstartup answers daemon_unstartup.
var Unstartup = Bind(tools.Unstartup, func(ctx context.Context, d *Deps, in tools.UnstartupIn) (tools.UnstartupOut, error) {
	u, err := startupUnit(d, in.System, in.SystemWide)
	if err != nil {
		return tools.UnstartupOut{}, err
	}
	removed, err := startup.Remove(u)
	if err != nil {
		return tools.UnstartupOut{}, fmt.Errorf("unstartup: %w", err)
	}
	return tools.UnstartupOut{Path: u.Path, Removed: removed, Disable: u.Disable}, nil
})

// startupUnit generates the definition for the daemon answering: the velos
// installed with it (the unit runs velos daemon, which execs this velosd),
// its VELOS_HOME and the account it runs as.
func startupUnit(d *Deps, system string, wide bool) (startup.Unit, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = daemon.Companion(exe, daemon.CLIName)
	}
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
