package evals

import (
	"path/filepath"
	"runtime"
)

// ecosystemFile is a PM2 ecosystem file of the repository's tests, by
// absolute path (the daemon resolves paths, and its folder is not the test's).
func ecosystemFile() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "core", "pm2", "testdata", "forms", "ecosystem.json")
}

// habitCases are the evals of the commands PM2 users reach for.
var habitCases = []Case{
	{Tool: "process_reset", Setup: []Call{start("web"), {Tool: "process_restart", Args: map[string]any{"target": "web"}}},
		Args: map[string]any{"target": "web"}, Budget: 40, ListBudget: 110, Facts: []string{`"web"`, `"online"`}},
	{Tool: "process_signal", Setup: []Call{start("web")}, Args: map[string]any{"signal": "SIGWINCH", "target": "web"},
		Budget: 40, ListBudget: 160, Facts: []string{`"web"`, `"online"`}},
	{Tool: "process_pid", Setup: []Call{start("web")}, Args: map[string]any{"target": "web"},
		Budget: 30, ListBudget: 90, Facts: []string{`"web"`, `"pid":`}},
	{Tool: "process_env", Setup: []Call{{Tool: "process_start", Args: map[string]any{"script": "sleep", "args": []string{"300"}, "name": "web", "env": map[string]any{"GREETING": "hello"}}}},
		Args: map[string]any{"target": "web"}, Budget: 80, ListBudget: 120, Facts: []string{`"GREETING":"hello"`, `"VELOS_NAME":"web"`, `"process"`}},
	{Tool: "config_import_pm2", Args: map[string]any{"file": ecosystemFile(), "output": "-"},
		Budget: 700, ListBudget: 150, Facts: []string{`"http-api"`, "[process.http-api]", `mode = \"cluster\"`, "[process.http-api.env.production]", "deploy: pm2 deploy is not supported"}},
}
