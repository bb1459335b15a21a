// Package evals holds, for every tool, a scenario, the token budget of its
// MCP text output and of its tools/list entry, and the facts the output must
// still contain. The runner (evals_test.go) plays each scenario against a
// real daemon and counts tokens with a real o200k_base tokenizer; the
// tokenizer is a test-only dependency, never linked into velos.
package evals

import "slices"

// Call is one tool call.
type Call struct {
	Tool string
	Args map[string]any
	// Until, when set, repeats the call (for up to 10 s) until its text
	// contains this: a setup step that waits for the daemon, not the clock.
	Until string
}

// Case is one tool's eval.
type Case struct {
	Tool  string
	Setup []Call         // calls made first, on a fresh VELOS_HOME
	Args  map[string]any // the call measured
	// Budget is the most o200k_base tokens its text content may cost;
	// ListBudget the most its tools/list entry (name, description, schemas,
	// annotations) may cost.
	Budget, ListBudget int
	Facts              []string // substrings the text content must contain
}

func start(name string) Call {
	return Call{Tool: "process_start", Args: map[string]any{"script": "sleep", "args": []string{"300"}, "name": name}}
}

// ToolsListBudget is the most o200k_base tokens the whole tools/list result
// may cost: what every model connected to Velos pays on every turn, before
// it has called anything. (Each case's ListBudget bounds one tool's share.)
// A new tool pays for its entry by shortening others.
const ToolsListBudget = 4000

// ListCase is a process_list scenario: Online processes that run, and
// optionally one odd one that does not. Its --ai output must keep every fact
// of its --json output, cost at most Ratio of its tokens, and at most Budget.
type ListCase struct {
	Name   string
	Online int
	// Odd, when set, is the process_start input of the odd process, and
	// OddStatus the status it must be seen in (with at least OddRestarts).
	Odd         map[string]any
	OddStatus   string
	OddRestarts int
	Ratio       float64
	Budget      int
}

// ListCases: a uniform list, and one where a single crash-looping process
// stops no column from being said once.
var ListCases = []ListCase{
	{Name: "10 online", Online: 10, Ratio: 0.2, Budget: 200},
	// max_restarts quick crashes: errored, for good.
	{Name: "9 online, 1 errored (crash loop)", Online: 9, OddStatus: "errored", OddRestarts: 2,
		Odd:   map[string]any{"script": "sh", "args": []string{"-c", "exit 3"}, "restart_delay": "10ms", "max_restarts": 2},
		Ratio: 0.2, Budget: 200},
	// The second quick crash backs off 10 minutes: waiting, for the test.
	{Name: "9 online, 1 waiting (backing off)", Online: 9, OddStatus: "waiting", OddRestarts: 1,
		Odd: map[string]any{"script": "sh", "args": []string{"-c", "exit 3"},
			"restart_delay": "10ms", "restart_factor": 60000, "max_restart_delay": "10m"},
		Ratio: 0.2, Budget: 200},
}

// Cases has one entry per tool in tools.All; each family keeps its own list
// in cases_<family>.go.
var Cases = slices.Concat(lifecycleCases, logCases, insightCases, configCases, metricsCases, habitCases)

var lifecycleCases = []Case{
	{Tool: "process_start", Args: map[string]any{"script": "sleep", "args": []string{"300"}, "name": "web"},
		Budget: 40, ListBudget: 750, Facts: []string{`"web"`, `"online"`}},
	{Tool: "process_list", Setup: []Call{start("web"), start("worker")},
		Budget: 70, ListBudget: 80, Facts: []string{" web ", " worker ", `"online"`}},
	{Tool: "process_describe", Setup: []Call{start("web")}, Args: map[string]any{"target": "web"},
		Budget: 220, ListBudget: 110, Facts: []string{`"web"`, `"online"`, "sleep", "web-out.log"}},
	{Tool: "process_stop", Setup: []Call{start("web")}, Args: map[string]any{"target": "web"},
		Budget: 40, ListBudget: 110, Facts: []string{`"web"`, `"stopped"`}},
	{Tool: "process_restart", Setup: []Call{start("web")}, Args: map[string]any{"target": "web"},
		Budget: 40, ListBudget: 110, Facts: []string{`"web"`, `"online"`, `"rs":1`}},
	{Tool: "process_scale", Setup: []Call{start("web")}, Args: map[string]any{"name": "web", "count": "+1"},
		Budget: 40, ListBudget: 110, Facts: []string{`"web"`, `"online"`, `"1 `}},
	{Tool: "process_delete", Setup: []Call{start("web")}, Args: map[string]any{"target": "web"},
		Budget: 40, ListBudget: 100, Facts: []string{`"web"`, `"stopped"`}},
	{Tool: "mcp_http_serve", Args: map[string]any{"address": "127.0.0.1:0"},
		Budget: 50, ListBudget: 130, Facts: []string{"http://127.0.0.1:", "/mcp", "http.token", "http-ro.token"}},
	{Tool: "daemon_kill", Setup: []Call{start("web")},
		Budget: 10, ListBudget: 80, Facts: []string{`"stopped":1`}},
	// The daemon re-executes itself after answering; the scenario's cleanup
	// (velos kill) meets the new image.
	{Tool: "daemon_update", Setup: []Call{start("web")},
		Budget: 40, ListBudget: 120, Facts: []string{"velosd", `"procs":1`}},
}

// Find returns the case for a tool.
func Find(tool string) (Case, bool) {
	for _, c := range Cases {
		if c.Tool == tool {
			return c, true
		}
	}
	return Case{}, false
}
