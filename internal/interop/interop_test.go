package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tools"
)

var (
	installOnce sync.Once
	modules     string
	installErr  error
)

// packages installs the npm packages once per test binary, or skips the
// test when node or npm are missing. A failing npm ci fails the test: CI
// reaches the registry.
func packages(t *testing.T) string {
	t.Helper()
	installOnce.Do(func() { modules, installErr = Install() })
	if errors.Is(installErr, ErrNoNode) {
		t.Skipf("skipping: %v", installErr)
	}
	if installErr != nil {
		t.Fatal(installErr)
	}
	return modules
}

// script puts client.mjs next to a node_modules link in a temp folder: an
// ES module resolves its imports from where it sits, not from NODE_PATH.
func script(t *testing.T) string {
	t.Helper()
	return jsFile(t, "client.mjs")
}

// jsFile puts js/name next to a node_modules link in a temp folder.
func jsFile(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Symlink(packages(t), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(JSDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// report is what client.mjs prints.
type report struct {
	Requested       string   `json:"requested"` // the protocol version asked for, "" for the SDK's
	Name            string   `json:"name"`      // of the process the session started
	ProtocolVersion string   `json:"protocolVersion"`
	ResultChecked   int      `json:"resultChecked"`
	Capabilities    []string `json:"capabilities"`
	Tools           []string `json:"tools"`
	SchemaErrors    []string `json:"schemaErrors"`
	Calls           map[string]struct {
		Text       string          `json:"text"`
		Structured json.RawMessage `json:"structured"`
	} `json:"calls"`
	ResourceTemplates []string          `json:"resourceTemplates"`
	Resources         []string          `json:"resources"`
	ResourceText      string            `json:"resourceText"`
	Updates           int               `json:"updates"`
	Prompts           map[string]string `json:"prompts"`
	RestartEvent      *struct {
		Kind, Name, Cause string
	} `json:"restartEvent"`
	Progress   []string `json:"progress"`
	Completion *struct {
		Values []string `json:"values"`
		Code   int      `json:"code"`
		Error  string   `json:"error"`
	} `json:"completion"`
}

// run runs node with args and the environment env, and decodes the JSON it
// prints into v (when v is not nil).
func run(t *testing.T, env []string, v any, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), err, errb.String(), out.String())
	}
	if v != nil {
		if err := json.Unmarshal(out.Bytes(), v); err != nil {
			t.Fatalf("%s printed no JSON: %v\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errb.String())
		}
	}
}

// registry is every tool name of tools.All, sorted.
func registry() []string {
	var names []string
	for _, e := range tools.All {
		names = append(names, e.Info().Name)
	}
	slices.Sort(names)
	return names
}

// serveHTTP has the env's daemon serve MCP over HTTP and returns its URL and
// token file.
func serveHTTP(t *testing.T, e *testenv.Env) (url, tokenFile string) {
	t.Helper()
	var out struct {
		URL       string `json:"url"`
		TokenFile string `json:"token_file"`
	}
	if err := json.Unmarshal([]byte(e.MustRun("mcp-server", "--http", "127.0.0.1:0", "--json")), &out); err != nil {
		t.Fatal(err)
	}
	return out.URL, out.TokenFile
}

// The protocol versions the TypeScript SDK 1.32 speaks that the Go server
// serves too; "default" is the SDK's own choice (its latest, 2025-11-25).
// The SDK cannot pin a version, so client.mjs rewrites its initialize
// request.
var versions = []string{"default", "2025-06-18", "2025-03-26", "2024-11-05"}

// TestTypeScriptSDK runs the official TypeScript SDK's client against a real
// daemon over stdio and over HTTP, one session per protocol version:
// initialize, tools/list (the SDK's own validation), process_start/list/
// restart/logs, log_summary and process_stop with every structuredContent
// validated against its outputSchema and its whole resultSchema (JSON Schema
// 2020-12), a subscription to the log resource that hears the restart's
// line and one to velos://events that hears the restart with its cause,
// every prompt, the completion of a process name, and the progress of a
// process_stop.
func TestTypeScriptSDK(t *testing.T) {
	t.Parallel()
	js := script(t)
	for _, transport := range []string{"stdio", "http"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			e := testenv.New(t)
			args := []string{"node", js, "--name", "ts", "--protocol", strings.Join(versions, ","),
				"--schemas", filepath.Join(testenv.Root(), "schemas")}
			if transport == "stdio" {
				args = append(args, "--stdio", e.Bin)
			} else {
				url, tokenFile := serveHTTP(t, e)
				args = append(args, "--http", url, "--token-file", tokenFile)
			}
			var reports []report
			run(t, []string{"VELOS_HOME=" + e.Home}, &reports, args...)
			if len(reports) != len(versions) {
				t.Fatalf("%d sessions reported, want %d", len(reports), len(versions))
			}
			for i, r := range reports {
				label := versions[i]
				if label == "default" {
					label = "sdk-default"
				}
				t.Run(label, func(t *testing.T) { checkReport(t, r) })
			}
		})
	}
}

func checkReport(t *testing.T, r report) {
	t.Helper()
	name := r.Name
	want := r.Requested
	if want == "" {
		want = "2025-11-25"
	}
	if r.ProtocolVersion != want {
		t.Errorf("negotiated %q, want %q", r.ProtocolVersion, want)
	}
	got := slices.Clone(r.Tools)
	slices.Sort(got)
	if !slices.Equal(got, registry()) {
		t.Errorf("tools/list through the TypeScript SDK: %v\nregistry: %v", got, registry())
	}
	if len(r.SchemaErrors) > 0 {
		t.Errorf("schemas that do not compile under JSON Schema 2020-12 (ajv strict):\n%s", strings.Join(r.SchemaErrors, "\n"))
	}
	for _, tool := range []string{"process_start", "process_list", "process_restart", "process_logs", "log_summary", "process_stop"} {
		if _, ok := r.Calls[tool]; !ok {
			t.Errorf("no %s call in the report", tool)
		}
	}
	if r.ResultChecked != len(r.Calls) {
		t.Errorf("%d of %d structured results checked against schemas/<tool>.json", r.ResultChecked, len(r.Calls))
	}
	var started, stopped struct {
		Processes []struct{ Name, Status string }
	}
	_ = json.Unmarshal(r.Calls["process_start"].Structured, &started)
	_ = json.Unmarshal(r.Calls["process_stop"].Structured, &stopped)
	if len(started.Processes) != 1 || started.Processes[0].Name != name || started.Processes[0].Status != "online" {
		t.Errorf("process_start: %s", r.Calls["process_start"].Structured)
	}
	if len(stopped.Processes) != 1 || stopped.Processes[0].Status != "stopped" {
		t.Errorf("process_stop: %s", r.Calls["process_stop"].Structured)
	}
	var listed struct {
		Processes []struct{ Name, Status string }
	}
	_ = json.Unmarshal(r.Calls["process_list"].Structured, &listed)
	if !slices.ContainsFunc(listed.Processes, func(p struct{ Name, Status string }) bool { return p.Name == name && p.Status == "online" }) {
		t.Errorf("process_list lacks %s online: %s", name, r.Calls["process_list"].Structured)
	}
	if !strings.Contains(r.Calls["process_logs"].Text, "interop hello") {
		t.Errorf("process_logs text lacks the printed line: %s", r.Calls["process_logs"].Text)
	}
	var summary struct{ Errors int }
	_ = json.Unmarshal(r.Calls["log_summary"].Structured, &summary)
	if summary.Errors < 1 {
		t.Errorf("log_summary counted no error: %s", r.Calls["log_summary"].Structured)
	}
	if !slices.Contains(r.ResourceTemplates, "velos://logs/{name}") || !slices.Contains(r.Resources, "velos://processes") {
		t.Errorf("resources: templates %v, resources %v", r.ResourceTemplates, r.Resources)
	}
	// One line per start: the read after the update holds the restart's.
	if r.Updates < 1 || strings.Count(r.ResourceText, "interop hello") < 2 {
		t.Errorf("subscription: %d updates, resource text:\n%s", r.Updates, r.ResourceText)
	}
	if e := r.RestartEvent; e == nil || e.Cause != "manual" {
		t.Errorf("velos://events: restart event %+v, want cause manual", e)
	}
	// The SDK hands a notification to its handler a microtask later but
	// settles the call's answer at once, dropping the handler: a progress
	// sent just before the answer (the last "stopped") may be lost there.
	if len(r.Progress) == 0 || !strings.Contains(r.Progress[0], "stopping 1 process") {
		t.Errorf("process_stop progress through the SDK: %q", r.Progress)
	}
	if len(r.Prompts) == 0 {
		t.Error("no prompt was listed")
	}
	for p, text := range r.Prompts {
		if !strings.Contains(text, name) {
			t.Errorf("prompt %s does not speak of %s: %s", p, name, text)
		}
	}
	// Prompt arguments complete: the server advertises completions and a
	// process name's first letters complete to it.
	switch {
	case r.Completion == nil:
		t.Error("no prompt argument to complete")
	case !slices.Contains(r.Capabilities, "completions"):
		t.Errorf("the server does not advertise completions: %v", r.Capabilities)
	case !slices.Contains(r.Completion.Values, name):
		t.Errorf("completion of %q: %+v", name[:3], r.Completion)
	}
}

// TestTypeScriptSDKReadOnly: through the TypeScript SDK, `velos mcp-server
// --read-only` and the read-only HTTP token list only tools annotated
// readOnlyHint, and a process_stop called by name is a tool error that
// says it was refused, with the process left running.
func TestTypeScriptSDKReadOnly(t *testing.T) {
	t.Parallel()
	js := jsFile(t, "readonly.mjs")
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "api", "--", "300")
	var want []string
	for _, en := range tools.All {
		if i := en.Info(); i.Effect == tool.ReadOnly {
			want = append(want, i.Name)
		}
	}
	slices.Sort(want)
	for _, transport := range []string{"stdio", "http"} {
		t.Run(transport, func(t *testing.T) {
			args := []string{"node", js, "--target", "api"}
			if transport == "stdio" {
				args = append(args, "--stdio", e.Bin)
			} else {
				url, _ := serveHTTP(t, e)
				args = append(args, "--http", url, "--token-file", filepath.Join(e.Home, tools.HTTPReadOnlyTokenFile))
			}
			var got struct {
				Tools       []string
				Annotations map[string]bool
				Stop        struct {
					IsError bool
					Text    string
				}
			}
			run(t, []string{"VELOS_HOME=" + e.Home}, &got, args...)
			slices.Sort(got.Tools)
			if !slices.Equal(got.Tools, want) {
				t.Errorf("read-only tools/list: %v\nwant %v", got.Tools, want)
			}
			for name, ro := range got.Annotations {
				if !ro {
					t.Errorf("%s listed without readOnlyHint", name)
				}
			}
			if !got.Stop.IsError || !strings.Contains(got.Stop.Text, "process_stop refused") {
				t.Errorf("process_stop: %+v", got.Stop)
			}
			if out := e.MustRun("describe", "api", "--ai"); !strings.Contains(out, "online") {
				t.Errorf("api after a refused stop: %s", out)
			}
		})
	}
}

// TestInspectorCLI runs the MCP Inspector's CLI mode (a second client
// implementation: the TypeScript SDK v2) headless: tools/list over stdio,
// one call over HTTP. (Each run starts the Inspector's launcher, a couple of
// seconds on this machine: one of each is enough.)
func TestInspectorCLI(t *testing.T) {
	t.Parallel()
	mods := packages(t)
	inspector := filepath.Join(mods, ".bin", "inspector")
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "api", "--", "300")
	url, tokenFile := serveHTTP(t, e)
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	// The Inspector keeps a catalog under $HOME: give it a throwaway one.
	env := []string{"HOME=" + t.TempDir()}
	t.Run("stdio tools/list", func(t *testing.T) {
		var list struct {
			Tools []struct{ Name string }
		}
		// It passes a stdio server only the variables it is given; the
		// server's command comes last, after "--".
		run(t, env, &list, inspector, "--cli", "-e", "VELOS_HOME="+e.Home, "--method", "tools/list", "--", e.Bin, "mcp-server")
		var names []string
		for _, tl := range list.Tools {
			names = append(names, tl.Name)
		}
		slices.Sort(names)
		if !slices.Equal(names, registry()) {
			t.Errorf("tools/list through the Inspector: %v\nregistry: %v", names, registry())
		}
	})
	t.Run("http tools/call", func(t *testing.T) {
		var call struct {
			IsError           bool `json:"isError"`
			StructuredContent struct {
				Processes []struct{ Name, Status string }
			} `json:"structuredContent"`
		}
		// --header and --tool-arg take every word up to the next option.
		run(t, env, &call, inspector, "--cli", "--transport", "http", "--server-url", url,
			"--header", "Authorization: Bearer "+token,
			"--method", "tools/call", "--tool-name", "process_describe", "--tool-arg", "target=api")
		if call.IsError || len(call.StructuredContent.Processes) != 1 || call.StructuredContent.Processes[0].Status != "online" {
			t.Errorf("process_describe through the Inspector: %+v", call)
		}
	})
}
