package evals

import (
	"path/filepath"
	"runtime"
)

// exampleConfig is the repository's examples/velos.toml, by absolute path:
// the daemon resolves paths, and its folder is not the test's.
func exampleConfig() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "examples", "velos.toml")
}

// configCases are the evals of the config family's tools.
var configCases = []Case{
	{Tool: "process_reload", Setup: []Call{start("web")}, Args: map[string]any{"target": "web"},
		Budget: 45, ListBudget: 170, Facts: []string{`"web"`, `"online"`, `"restarted"`, `"rs":1`}},
	{Tool: "config_validate", Args: map[string]any{"file": exampleConfig()},
		Budget: 110, ListBudget: 100, Facts: []string{`"web"`, `"worker"`, `"ticker"`, "web.js", `"staging"`}},
	{Tool: "config_get", Setup: []Call{start("web")}, Args: map[string]any{"name": "web"},
		Budget: 40, ListBudget: 120, Facts: []string{`"web"`, `"sleep"`, `"300"`}},
	{Tool: "config_set", Setup: []Call{start("web")}, Args: map[string]any{"name": "web", "key": "max_memory", "value": "512M"},
		Budget: 30, ListBudget: 160, Facts: []string{`"max_memory"`, `"512M"`, `"applied"`}},
	{Tool: "config_export", Args: map[string]any{"target": "compose", "file": exampleConfig()},
		Budget: 600, ListBudget: 230, Facts: []string{"web:", "worker:", "ticker:", "/app/web.js", "cron_restart", "max_memory"}},
	{Tool: "state_save", Setup: []Call{start("web"), start("worker")},
		Budget: 35, ListBudget: 80, Facts: []string{"dump.toml", `"web"`, `"worker"`}},
	{Tool: "state_resurrect", Setup: []Call{start("web"), start("worker"), {Tool: "state_save"},
		{Tool: "process_delete", Args: map[string]any{"target": "web"}}},
		Budget: 60, ListBudget: 80, Facts: []string{`"web"`, `"online"`, `"worker"`}},
	{Tool: "daemon_startup", Args: map[string]any{"system": "systemd"},
		Budget: 450, ListBudget: 150, Facts: []string{"Type=notify", "daemon --resurrect", "VELOS_HOME=", "systemctl --user enable"}},
	{Tool: "daemon_unstartup", Args: map[string]any{"system": "systemd"},
		Budget: 40, ListBudget: 110, Facts: []string{"velos.service", "disable"}},
}
