package tools

import (
	"path/filepath"

	"github.com/velos-pm/velos/tool"
)

// ReloadIn is what to reload: processes by name, or a config file.
type ReloadIn struct {
	Target string `json:"target" arg:"" brief:"name, id, all, or a velos.toml" help:"Process name, numeric id, all, or a velos.toml whose changes to apply."`
	// Profile is the env profile to resolve with (PM2's --env production).
	Profile string   `json:"profile,omitempty" name:"env" short:"e" brief:"env profile from now on" help:"Env profile to run with from now on, as in [process.NAME.env.PROFILE]."`
	Only    []string `json:"only,omitempty" sep:"," brief:"velos.toml processes only" help:"With a config file: apply only these processes (comma-separated)."`
}

// ReloadRow is one process and what reload did to it.
type ReloadRow struct {
	ProcessInfo
	// Action: started (new in the file), restarted (its config changed, or
	// reloaded by name), unchanged (left running, same pid), or kept (running
	// but not in the file: reload never stops what a file no longer lists).
	Action string `json:"action" col:"ACTION" ai:"do"`
}

// ReloadOut is every process reload looked at.
type ReloadOut struct {
	Processes []ReloadRow `json:"processes"`
}

// The reload actions.
const (
	ActionStarted   = "started"
	ActionRestarted = "restarted"
	ActionUnchanged = "unchanged"
	ActionKept      = "kept"
)

// Reload is process_reload.
var Reload = &tool.Def[ReloadIn, ReloadOut]{
	Name: "process_reload", CLI: "reload", Title: "Reload processes or a config file", Effect: tool.Mutating, Progress: true,
	Summary: "Rolling restart that picks up config changes; given a velos.toml, apply what changed.",
	Prepare: func(in *ReloadIn, cwd string) error {
		if IsConfigFile(in.Target) && !filepath.IsAbs(in.Target) {
			in.Target = filepath.Join(cwd, in.Target)
		}
		return nil
	},
}
