package tools

import (
	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/tool"
)

// ConfigGetIn names a process and, optionally, one key.
type ConfigGetIn struct {
	Name string `json:"name" arg:"" brief:"-" help:"Process name."`
	Key  string `json:"key,omitempty" arg:"" optional:"" brief:"e.g. env.PORT (default: all)" help:"One key path, e.g. max_memory, env.PORT or env.staging.PORT (default: every key)."`
}

// ConfigGetOut is a process's config as it was asked for (the config-file
// form, as velos save writes it), or one key of it.
type ConfigGetOut struct {
	Name string `json:"name"`
	// Profile is the env profile it runs with, if any.
	Profile string `json:"profile,omitempty"`
	// Dir is the folder relative paths resolve against.
	Dir string `json:"dir,omitempty"`
	// Key and Value are set when one key was asked for; Value is absent
	// when the key is unset (its default applies).
	Key   string `json:"key,omitempty"`
	Value any    `json:"value,omitempty"`
	// Default is what applies when the key asked for is unset.
	Default string `json:"default,omitempty"`
	// Config is every key that is set, when no key was asked for.
	Config *config.Process `json:"config,omitempty"`
}

// ConfigGet is config_get.
var ConfigGet = &tool.Def[ConfigGetIn, ConfigGetOut]{
	Name: "config_get", CLI: "config get", Title: "Show a process's config", Effect: tool.ReadOnly,
	Summary: "A process's config as given, or one key's value.",
}
