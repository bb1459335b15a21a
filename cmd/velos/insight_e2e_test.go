package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

// knownMix prints a log with known counts: 7 "Connection refused" errors
// (one pattern, varying address), 4 "slow query" warnings on stderr, 5 info
// lines, and a Node error with its stack frame; then it stays up.
const knownMix = `
echo "INFO server started on port 8080"
for i in 1 2 3 4 5 6 7; do echo "ERROR Connection refused to 10.0.0.$i:5432"; done
for i in 1 2 3 4; do echo "WARN slow query took ${i}00ms" >&2; done
for i in 1 2 3 4; do echo "INFO request $i served in ${i}ms"; done
echo "Error: connect ECONNREFUSED 127.0.0.1:6379" >&2
echo "    at RedisClient.connect (/app/src/db.js:42:9)" >&2
echo "INFO done"
exec sleep 300
`

// startMix starts a process printing script and waits until its last line
// ("INFO done") is stored.
func startMix(t *testing.T, e *testenv.Env, name, script string, env ...string) {
	t.Helper()
	args := []string{"start", "sh", "--name", name, "--autorestart", "never"}
	for _, kv := range env {
		args = append(args, "--env", kv)
	}
	e.MustRun(append(args, "--", "-c", script)...)
	waitFor(t, name+" to print its log", 10*time.Second, func() bool {
		return strings.Contains(e.MustRun("search", name, "^INFO done$", "--json"), `"total": 1`)
	})
}

func TestSummarySearchHealthOnKnownCounts(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	startMix(t, e, "api", knownMix)

	var s tools.LogSummary
	if err := json.Unmarshal([]byte(e.MustRun("summary", "api", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	// 8 errors (7 refused + the Node error, its frame grouped with it), 4 warnings.
	if s.Errors != 8 || s.Warnings != 4 || s.Lines != 19 {
		t.Errorf("summary counts: errors %d warnings %d lines %d, want 8 4 19: %+v", s.Errors, s.Warnings, s.Lines, s)
	}
	if s.LastError != "Error: connect ECONNREFUSED 127.0.0.1:6379 at db.js:42" {
		t.Errorf("last_error = %q", s.LastError)
	}
	want := map[string]int{"Connection refused to <*>": 7, "slow query took <*>": 4, "Error: connect ECONNREFUSED <*>": 1}
	for _, p := range s.Patterns {
		if n, ok := want[p.Msg]; ok {
			if p.Count != n {
				t.Errorf("pattern %q count %d, want %d", p.Msg, p.Count, n)
			}
			delete(want, p.Msg)
		}
	}
	if len(want) > 0 {
		t.Errorf("patterns missing %v from %+v", want, s.Patterns)
	}
	if s.Patterns[0].Msg != "Connection refused to <*>" {
		t.Errorf("errors are not listed first: %+v", s.Patterns)
	}
	human := e.MustRun("summary", "api")
	if !strings.HasPrefix(human, `errors: 8, warnings: 4, last_error: "Error: connect ECONNREFUSED 127.0.0.1:6379 at db.js:42", patterns: [{msg:"Connection refused to <*>", count:7}, `) {
		t.Errorf("human summary:\n%s", human)
	}

	// velos logs --dedupe: the same counts; --level uses the full classifier
	// (a stack frame on stderr is not an error line, the WARN lines on
	// stderr are warnings).
	var lo tools.LogsOut
	if err := json.Unmarshal([]byte(e.MustRun("logs", "api", "--dedupe", "--json")), &lo); err != nil {
		t.Fatal(err)
	}
	if len(lo.Dedupe) == 0 || lo.Dedupe[0].Text != "Connection refused to <*>" || lo.Dedupe[0].Count != 7 || lo.Dedupe[0].Level != "error" {
		t.Errorf("--dedupe: %+v", lo.Dedupe)
	}
	if dd := e.MustRun("logs", "api", "--dedupe"); !strings.HasPrefix(dd, "[ERROR] Connection refused to <*> (x7, first: ") {
		t.Errorf("--dedupe human:\n%s", dd)
	}
	if err := json.Unmarshal([]byte(e.MustRun("logs", "api", "--level", "error", "-n", "100", "--json")), &lo); err != nil {
		t.Fatal(err)
	}
	// The two pipes are read independently: stdout and stderr lines need
	// not be stamped in the order they were written.
	errLines := 0
	for _, l := range lo.Lines {
		if strings.HasPrefix(l.Text, "ERROR Connection refused") || strings.HasPrefix(l.Text, "Error: connect ECONNREFUSED") {
			errLines++
		}
	}
	if len(lo.Lines) != 8 || errLines != 8 {
		t.Errorf("--level error: %d lines, want the 8 error lines: %+v", len(lo.Lines), lo.Lines)
	}
	if sum := e.MustRun("logs", "api", "--summary"); sum != human {
		t.Errorf("logs --summary differs from summary:\n%s\n%s", sum, human)
	}

	// Search: the latest 3 of 7 matches, one line of context each side.
	var so tools.SearchOut
	if err := json.Unmarshal([]byte(e.MustRun("search", "api", "refused to", "--limit", "3", "-B", "1", "-A", "1", "--json")), &so); err != nil {
		t.Fatal(err)
	}
	if so.Total != 7 || len(so.Matches) != 3 || !so.Truncated || so.Cursor == "" {
		t.Fatalf("search: %+v", so)
	}
	if m := so.Matches[2]; m.Text != "ERROR Connection refused to 10.0.0.7:5432" ||
		len(m.Before) != 1 || m.Before[0] != "ERROR Connection refused to 10.0.0.6:5432" ||
		len(m.After) != 1 || m.After[0] != "INFO request 1 served in 1ms" {
		t.Errorf("last match with context: %+v", m)
	}
	// The cursor pages back to the earlier 4.
	var more tools.SearchOut
	if err := json.Unmarshal([]byte(e.MustRun("search", "api", "refused to", "--limit", "10", "--cursor", so.Cursor, "--json")), &more); err != nil {
		t.Fatal(err)
	}
	if more.Total != 4 || more.Matches[0].Text != "ERROR Connection refused to 10.0.0.1:5432" || more.Truncated {
		t.Errorf("second page: %+v", more)
	}
	// Level: only lines classified warn or worse; "request" lines are info.
	if out := e.MustRun("search", "api", "request|slow", "--level", "warn", "--json"); !strings.Contains(out, `"total": 4`) {
		t.Errorf("--level warn: %s", out)
	}
	for _, bad := range [][]string{{"search", "api", "("}, {"search", "api", "x", "--level", "loud"}, {"search", "nope", "x"},
		{"search", "api", "x", "--since", "1h", "--last", "1h"}, {"summary", "api", "--last", "yesterday"}, {"health", "nope"}} {
		if r := e.Run(bad...); r.Code == 0 || r.Code > 2 || r.Stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 1 or 2 and an error", bad, r.Code, r.Stderr)
		}
	}

	// Health: online, but 8 errors in a minute is a rate worth a look.
	var h tools.HealthOut
	if err := json.Unmarshal([]byte(e.MustRun("health", "api", "--json")), &h); err != nil {
		t.Fatal(err)
	}
	if len(h.Processes) != 1 || h.Processes[0].Verdict != tools.Degraded || h.Processes[0].Errors != 8 {
		t.Errorf("health: %+v", h)
	}
}

func TestHealthOfACrashLoop(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sh", "--name", "loop", "--max-restarts", "2", "--", "-c", `echo "FATAL cannot open /data/db.sqlite: permission denied" >&2; exit 3`)
	waitFor(t, "loop to end errored", 20*time.Second, func() bool { return find(list(t, e), "loop").Status == "errored" })
	var h tools.HealthOut
	if err := json.Unmarshal([]byte(e.MustRun("health", "loop", "--json")), &h); err != nil {
		t.Fatal(err)
	}
	p := h.Processes[0]
	if p.Verdict != tools.Failing || p.LastExit != "exit 3" || !strings.Contains(strings.Join(p.Reasons, "; "), "exit 3 ×2") ||
		!strings.Contains(p.LastError, "permission denied") {
		t.Errorf("health of a crash loop: %+v", p)
	}
	if out := e.MustRun("health", "loop"); !strings.HasPrefix(out, "loop: failing — errored: ") {
		t.Errorf("human health: %q", out)
	}
}

// secrets are shapes of secrets a process may print, each with the part
// that must not reach an agent.
var secrets = []struct{ line, secret string }{
	{"db password=hunter2xyz ok", "hunter2xyz"},
	{`config {"api_key": "k3yk3yk3y"}`, "k3yk3yk3y"},
	{"Authorization: Bearer abcdef0123456789xyz", "abcdef0123456789xyz"},
	{"connect postgres://app:s3cr3tpw@db:5432/app", "s3cr3tpw"},
	{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "dozjgNryP4J3jVmNHl0w5N"},
	{"gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"},
	{"aws AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"},
	{"openai sk-proj-abcdefghijklmnopqrstuvwxyz012345", "sk-proj-abcdefghijklmnopqrstuvwxyz012345"},
	{"slack xoxb-1234567890-abcdefghijkl", "xoxb-1234567890-abcdefghijkl"},
	{"stripe sk_live_abcdefghijklmnop1234", "sk_live_abcdefghijklmnop1234"},
	{"google AIzaSyA-abcdefghijklmnopqrstuvwxyz01234", "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234"},
	{"key -----BEGIN RSA PRIVATE KEY-----MIIEpAIBAAKCAQEA", "MIIEpAIBAAKCAQEA"},
}

func TestSecretsRedactedForAgentsOnly(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	var sb strings.Builder
	for _, s := range secrets {
		fmt.Fprintf(&sb, "echo 'ERROR %s'\n", s.line)
	}
	sb.WriteString("echo 'INFO done'\nexec sleep 300\n")
	startMix(t, e, "leaky", sb.String())
	startMix(t, e, "optout", sb.String(), "VELOS_REDACT=0")

	cs := e.Connect(nil)
	call := func(tool string, args map[string]any) (text, structured string) {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
		if err != nil || res.IsError {
			t.Fatalf("%s: %v %v", tool, err, res)
		}
		b, _ := json.Marshal(res.StructuredContent)
		return textOf(res), string(b)
	}
	searchArgs := func(name string) map[string]any {
		return map[string]any{"target": name, "pattern": "ERROR", "limit": 50}
	}
	text, structured := call("log_search", searchArgs("leaky"))
	sumText, _ := call("log_summary", map[string]any{"target": "leaky"})
	ai := e.MustRun("search", "leaky", "ERROR", "--limit", "50", "--ai")
	js := e.MustRun("search", "leaky", "ERROR", "--limit", "50", "--json")
	optText, _ := call("log_search", searchArgs("optout"))
	logFile, err := os.ReadFile(filepath.Join(e.Home, "logs", "leaky-out.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		for what, out := range map[string]string{"MCP text": text, "MCP structuredContent": structured, "--ai": ai, "summary MCP text": sumText} {
			if strings.Contains(out, s.secret) {
				t.Errorf("%s shows the secret of %q", what, s.line)
			}
		}
		for what, out := range map[string]string{"--json": js, "log file": string(logFile), "opted-out process (MCP text)": optText} {
			if !strings.Contains(out, s.secret) {
				t.Errorf("%s lost %q, which is not redacted there", what, s.secret)
			}
		}
	}
	if n := strings.Count(text, "[REDACTED]"); n < len(secrets) {
		t.Errorf("MCP text has %d [REDACTED], want at least %d: %s", n, len(secrets), text)
	}
}

// TestReadmeListsRedactionRules: the README's table of redaction rules is
// the library's list.
func TestReadmeListsRedactionRules(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range insight.RedactionRules() {
		if !strings.Contains(string(b), "| `"+r.Name+"` |") {
			t.Errorf("README lacks redaction rule %s", r.Name)
		}
	}
}

// textOf is a tool result's text content.
func textOf(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}
