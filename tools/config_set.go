package tools

import (
	"github.com/velos-pm/velos/tool"
)

// ConfigSetIn is one key to change.
type ConfigSetIn struct {
	Name  string `json:"name" arg:"" brief:"-" help:"Process name."`
	Key   string `json:"key" arg:"" brief:"e.g. max_memory, env.PORT" help:"Key path, e.g. max_memory, autorestart, env.PORT or env.staging.PORT."`
	Value string `json:"value" arg:"" brief:"as in a config file, e.g. 512M; empty clears" help:"New value as written in a config file: 512M, 5s, true, [\"a\",\"b\"] or a,b; empty clears the key."`
}

// When a config change takes effect.
const (
	AppliedNow     = "applied"         // the running process uses it already
	AppliedRestart = "at next restart" // the next start of the process uses it
	AppliedNone    = "unchanged"       // the process would run the same way
)

// ConfigSetOut is the key after the change and when it takes effect.
type ConfigSetOut struct {
	Name  string `json:"name"`
	Key   string `json:"key"`
	Value any    `json:"value,omitempty"`
	// Applied: "applied" (in effect now: restart policy, kill_timeout,
	// kill_signal, max_memory, cron_restart, instances — scaled at once),
	// "at next restart" (command, cwd, env …), or "unchanged".
	Applied string `json:"applied"`
}

// ConfigSet is config_set.
var ConfigSet = &tool.Def[ConfigSetIn, ConfigSetOut]{
	Name: "config_set", CLI: "config set", Title: "Change one config key", Effect: tool.Mutating,
	Summary: "Change one config key; applied now where safe, else at the next restart.",
}
