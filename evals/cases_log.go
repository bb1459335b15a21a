package evals

// logCases are the evals of the log family's tools.
var logCases = []Case{
	// The default answer: the last lines, one string each, stderr marked,
	// the day said once. The list entry also carries the insight options
	// (dedupe, summary, patterns, file) and their output shapes.
	{Tool: "process_logs", Setup: printed("api", webLog), Args: map[string]any{"target": "api"},
		Budget: 80, ListBudget: 360, Facts: []string{"INFO ready on :8080", "[err] ERROR db timeout after 3s", "GET /health 200", `"utc"`}},
	{Tool: "log_flush", Setup: printed("api", webLog), Args: map[string]any{"target": "api"},
		Budget: 15, ListBudget: 100, Facts: []string{`"api"`}},
}

// webLog prints a few requests and one error on stderr.
const webLog = `echo "INFO ready on :8080"; echo "GET /health 200 1ms"; echo "ERROR db timeout after 3s" >&2; echo "GET /health 200 2ms"`
