package tools

import (
	"fmt"
	"io"
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
	Summary: "Print or install a boot unit that resurrects the saved processes.",
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
}
