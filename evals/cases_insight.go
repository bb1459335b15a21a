package evals

// insightCases are the evals of the insight family's tools: each answers in
// a few dozen tokens what would otherwise take pages of log lines.
var insightCases = []Case{
	{Tool: "log_search", Setup: printed("api", apiLog),
		Args:   map[string]any{"target": "api", "pattern": "timeout", "limit": 2, "before": 1},
		Budget: 110, ListBudget: 270, Facts: []string{`"total":3`, "db timeout after 3s", `"cursor"`, "WARN slow query"}},
	{Tool: "log_summary", Setup: printed("api", apiLog), Args: map[string]any{"target": "api"},
		Budget: 90, ListBudget: 150, Facts: []string{`"errors":3`, `"warnings":1`, "db timeout after <*>", `"lines":5`}},
	// A failing process: the verdict, why, and where the error is.
	{Tool: "process_health_summary", Setup: failed("bad", badApp), Args: map[string]any{"target": "bad"},
		Budget: 120, ListBudget: 130, Facts: []string{`"v":"failing"`, "exit 1", "ECONNREFUSED", "db.js:42"}},
}

// apiLog prints a known mix: 1 info, 3 errors of one pattern, 1 warning.
const apiLog = `echo "INFO ready on :8080"; for i in 1 2; do echo "ERROR db timeout after ${i}s"; done; echo "WARN slow query took 900ms"; echo "ERROR db timeout after 3s"`

// badApp fails at once with a Node-style error and its location.
const badApp = `echo "Error: connect ECONNREFUSED 127.0.0.1:5432" >&2; echo "    at connect (/app/src/db.js:42:9)" >&2; exit 1`

// printed starts name running the shell script once (no restart) and waits
// until it has exited: its status then says its output is stored.
func printed(name, script string) []Call {
	return []Call{
		{Tool: "process_start", Args: map[string]any{"script": "sh", "args": []string{"-c", script}, "name": name, "autorestart": "never"}},
		{Tool: "process_list", Until: `"st":"stopped"`},
	}
}

// failed is printed for a script that exits non-zero.
func failed(name, script string) []Call {
	return []Call{
		{Tool: "process_start", Args: map[string]any{"script": "sh", "args": []string{"-c", script}, "name": name, "autorestart": "never"}},
		{Tool: "process_list", Until: `"st":"errored"`},
	}
}
