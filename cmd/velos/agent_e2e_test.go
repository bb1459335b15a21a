package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tools"
)

// bridge opens an MCP session through `velos mcp-server args…`.
func bridge(t *testing.T, e *testenv.Env, args ...string) *mcp.ClientSession {
	t.Helper()
	cmd := exec.Command(e.Bin, append([]string{"mcp-server"}, args...)...)
	cmd.Env = append(os.Environ(), "VELOS_HOME="+e.Home)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).
		Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func listed(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

func callText(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var sb strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			sb.WriteString(tc.Text)
		}
	}
	return sb.String(), res.IsError
}

// status is a process's status as the CLI reports it.
func status(t *testing.T, e *testenv.Env, name string) string {
	t.Helper()
	var out struct{ Processes []struct{ Status string } }
	if err := json.Unmarshal([]byte(e.MustRun("describe", name, "--json")), &out); err != nil || len(out.Processes) == 0 {
		t.Fatalf("describe %s: %v", name, err)
	}
	return out.Processes[0].Status
}

func readOnlyTools() (ro, mutating []string) {
	for _, en := range tools.All {
		if i := en.Info(); i.Effect == tool.ReadOnly {
			ro = append(ro, i.Name)
		} else {
			mutating = append(mutating, i.Name)
		}
	}
	slices.Sort(ro)
	return ro, mutating
}

// velos mcp-server --read-only: the daemon lists only the read-only tools
// and refuses a mutating one called by name, saying why; the process is
// untouched. The CLI's own connection is not limited.
func TestMCPServerReadOnly(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "api", "--", "300")
	cs := bridge(t, e, "--read-only")
	ro, mutating := readOnlyTools()
	if got := listed(t, cs); !slices.Equal(got, ro) {
		t.Errorf("--read-only lists %v\nwant the read-only tools %v", got, ro)
	}
	for _, name := range []string{"process_stop", "process_start", "daemon_kill"} {
		if !slices.Contains(mutating, name) {
			t.Fatalf("%s is not a mutating tool", name)
		}
	}
	text, isErr := callText(t, cs, "process_stop", map[string]any{"target": "api"})
	if !isErr || !strings.Contains(text, "process_stop refused") || !strings.Contains(text, "read-only") {
		t.Errorf("process_stop on a read-only connection: error %v, %q", isErr, text)
	}
	if s := status(t, e, "api"); s != "online" {
		t.Errorf("api is %s after a refused stop, want online", s)
	}
	if text, isErr := callText(t, cs, "process_list", map[string]any{}); isErr || !strings.Contains(text, "api") {
		t.Errorf("process_list on a read-only connection: %v %s", isErr, text)
	}
	e.MustRun("stop", "api") // the CLI is unrestricted
}

// --allow-tools and --deny-tools narrow the list; a typo is refused before
// anything is served.
func TestMCPServerAllowDenyTools(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "api", "--", "300")
	cs := bridge(t, e, "--allow-tools", "process_list,process_restart,process_stop", "--deny-tools", "process_stop")
	if got := listed(t, cs); !slices.Equal(got, []string{"process_list", "process_restart"}) {
		t.Errorf("allow 3 deny 1 lists %v", got)
	}
	text, isErr := callText(t, cs, "process_stop", map[string]any{"target": "api"})
	if !isErr || !strings.Contains(text, "--deny-tools") {
		t.Errorf("denied process_stop: %v %q", isErr, text)
	}
	text, isErr = callText(t, cs, "process_delete", map[string]any{"target": "api"})
	if !isErr || !strings.Contains(text, "not in this connection's --allow-tools") {
		t.Errorf("process_delete outside --allow-tools: %v %q", isErr, text)
	}
	if text, isErr := callText(t, cs, "process_restart", map[string]any{"target": "api"}); isErr {
		t.Errorf("allowed process_restart: %s", text)
	}
	if s := status(t, e, "api"); s != "online" {
		t.Errorf("api is %s, want online", s)
	}
	r := e.Run("mcp-server", "--deny-tools", "process_stpo")
	if r.Code != 2 || !strings.Contains(r.Stderr, `no tool is called "process_stpo"`) {
		t.Errorf("a misspelt tool: exit %d, %s", r.Code, r.Stderr)
	}
}

// The HTTP endpoint has two tokens: http.token gets every tool, and
// http-ro.token only the read-only ones; a read-only token cannot stop a
// process, nor use a session made with the full token.
func TestMCPOverHTTPReadOnlyToken(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "api", "--", "300")
	var out struct {
		URL               string `json:"url"`
		TokenFile         string `json:"token_file"`
		ReadOnlyTokenFile string `json:"read_only_token_file"`
	}
	if err := json.Unmarshal([]byte(e.MustRun("mcp-server", "--http", "127.0.0.1:0", "--json")), &out); err != nil {
		t.Fatal(err)
	}
	if out.ReadOnlyTokenFile != filepath.Join(e.Home, "http-ro.token") {
		t.Fatalf("read_only_token_file %q", out.ReadOnlyTokenFile)
	}
	token := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	connect := func(tok string) *mcp.ClientSession {
		client := &http.Client{Transport: bearer{tok, http.DefaultTransport}}
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "t"}, nil).Connect(context.Background(),
			&mcp.StreamableClientTransport{Endpoint: out.URL, HTTPClient: client}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		return cs
	}
	roTok, fullTok := token(out.ReadOnlyTokenFile), token(out.TokenFile)
	if roTok == fullTok {
		t.Fatal("the read-only token is the full one")
	}
	ro := connect(roTok)
	want, _ := readOnlyTools()
	if got := listed(t, ro); !slices.Equal(got, want) {
		t.Errorf("read-only token lists %v", got)
	}
	text, isErr := callText(t, ro, "process_stop", map[string]any{"target": "api"})
	if !isErr || !strings.Contains(text, "process_stop refused") {
		t.Errorf("process_stop with the read-only token: %v %q", isErr, text)
	}
	if s := status(t, e, "api"); s != "online" {
		t.Errorf("api is %s after a read-only stop, want online", s)
	}

	// A session of the full token, with the read-only token: unknown.
	full := connect(fullTok)
	req, _ := http.NewRequest("POST", out.URL, strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"process_stop","arguments":{"target":"api"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+roTok)
	req.Header.Set("Mcp-Session-Id", full.ID())
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("read-only token on the full token's session: HTTP %d, want 404", resp.StatusCode)
	}
	if s := status(t, e, "api"); s != "online" {
		t.Errorf("api is %s, want online", s)
	}
	if text, isErr := callText(t, full, "process_stop", map[string]any{"target": "api"}); isErr {
		t.Errorf("process_stop with the full token: %s", text)
	}
}

// [agent] allow_start in $VELOS_HOME/config.toml limits what an agent's
// connection may start (read again when the file changes); the CLI is not
// limited; a bad file stops the daemon from starting, naming file:line.
func TestAgentAllowStart(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	cfg := filepath.Join(e.Home, "config.toml")
	write := func(s string) {
		if err := os.WriteFile(cfg, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("[agent]\nallow_strat = [\"sleep\"]\n")
	r := e.Run("list")
	if r.Code == 0 || !strings.Contains(r.Stderr, cfg+":2:1: unknown key agent.allow_strat") {
		t.Fatalf("a bad config.toml: exit %d, stderr %s", r.Code, r.Stderr)
	}
	write("[agent]\nallow_start = [\"sleep\", \"./bin/*\"]\n")
	cs := bridge(t, e)
	if text, isErr := callText(t, cs, "process_start", map[string]any{"script": "sleep", "args": []string{"300"}, "name": "ok"}); isErr {
		t.Fatalf("allowed start: %s", text)
	}
	text, isErr := callText(t, cs, "process_start", map[string]any{"script": "sh", "args": []string{"-c", "sleep 300"}, "name": "no"})
	if !isErr || !strings.Contains(text, "start no refused") || !strings.Contains(text, "sh is not one of") || !strings.Contains(text, cfg) {
		t.Errorf("start of sh: %v %q", isErr, text)
	}
	// A relative pattern is relative to VELOS_HOME, whatever cwd the agent gives.
	bin := filepath.Join(e.Home, "bin")
	if err := os.Mkdir(bin, 0o700); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(bin, "srv")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec sleep 300\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if text, isErr := callText(t, cs, "process_start", map[string]any{"script": script, "name": "binsrv"}); isErr {
		t.Errorf("start of $VELOS_HOME/bin/srv: %s", text)
	}
	if text, isErr := callText(t, cs, "process_start", map[string]any{"script": "./bin/srv", "cwd": t.TempDir(), "name": "elsewhere"}); !isErr {
		t.Errorf("./bin/srv in another folder was allowed: %s", text)
	}
	// Another program through config_set is refused too.
	if text, isErr := callText(t, cs, "config_set", map[string]any{"name": "ok", "key": "script", "value": "sh"}); !isErr || !strings.Contains(text, "refused") {
		t.Errorf("config_set script sh: %v %q", isErr, text)
	}
	e.MustRun("start", "sh", "--name", "cli", "--", "-c", "sleep 300") // the CLI is not limited

	// An edit applies to the next call; a bad edit refuses every start.
	write("[agent]\nallow_start = [\"sh\"]\n")
	if text, isErr := callText(t, cs, "process_start", map[string]any{"script": "sh", "args": []string{"-c", "sleep 300"}, "name": "now"}); isErr {
		t.Errorf("start of sh once allowed: %s", text)
	}
	write("[agent]\nallow_start = \"sh\"\n")
	text, isErr = callText(t, cs, "process_start", map[string]any{"script": "sh", "args": []string{"-c", "sleep 300"}, "name": "bad"})
	if !isErr || !strings.Contains(text, cfg+":2:") {
		t.Errorf("start with a bad config.toml: %v %q", isErr, text)
	}
}
