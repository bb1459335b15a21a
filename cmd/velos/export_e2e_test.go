package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

const exportConfig = `[process.api]
script = "./api.js"
instances = 2
listen = "3000"
wait_ready = true
ready_http = "http://127.0.0.1:$PORT/health"

[process.api.env]
NODE_ENV = "production"
API_TOKEN = "tok-abcdef"
`

// TestExportCLI: velos export prints or writes, in the CLI's own process
// (no daemon), secrets as they are for people and masked for --ai.
func TestExportCLI(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := project(t, map[string]string{"velos.toml": exportConfig, "api.js": ""})

	out := e.RunIn(dir, "export", "kubernetes")
	if out.Code != 0 || !strings.Contains(out.Stdout, "kind: Deployment") || !strings.Contains(out.Stdout, "API_TOKEN: tok-abcdef") {
		t.Fatalf("export kubernetes: %d\n%s%s", out.Code, out.Stdout, out.Stderr)
	}
	ai := e.RunIn(dir, "export", "compose", "--ai")
	if ai.Code != 0 || strings.Contains(ai.Stdout, "tok-abcdef") || !strings.Contains(ai.Stdout, "[REDACTED]") {
		t.Fatalf("export --ai shows the secret or no mask: %s%s", ai.Stdout, ai.Stderr)
	}

	w := e.RunIn(dir, "export", "systemd", "--out", "units", "--app-dir", "/srv/api")
	if w.Code != 0 {
		t.Fatalf("export --out: %d %s", w.Code, w.Stderr)
	}
	units := filepath.Join(dir, "units")
	for _, want := range []string{"wrote " + filepath.Join(units, "api@.service"), "sudo systemctl enable --now api.socket api.target", "cp " + units + "/api.socket"} {
		if !strings.Contains(w.Stdout, want) {
			t.Errorf("export --out output lacks %q:\n%s", want, w.Stdout)
		}
	}
	b, err := os.ReadFile(filepath.Join(units, "api@.service"))
	if err != nil || !strings.Contains(string(b), "ExecStart=node /srv/api/api.js") {
		t.Fatalf("api@.service: %v\n%s", err, b)
	}
	st, err := os.Stat(filepath.Join(units, "api.env"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret env file: %v %v", err, st)
	}
	if b, _ := os.ReadFile(filepath.Join(units, "api.env")); !strings.Contains(string(b), "tok-abcdef") {
		t.Fatalf("the written secret file is masked: %s", b)
	}

	// Bad input: a clear message, a non-zero exit, nothing written.
	if r := e.RunIn(dir, "export", "nomad"); r.Code == 0 || !strings.Contains(r.Stderr, `"kubernetes","systemd","compose"`) {
		t.Errorf("unknown target: %d %s", r.Code, r.Stderr)
	}
	os.WriteFile(filepath.Join(dir, "bad.toml"), []byte("[process.api]\nscript = \"./api.js\"\nkill_timeout = \"soon\"\n"), 0o644)
	if r := e.RunIn(dir, "export", "compose", "bad.toml", "--out", "bad"); r.Code != 1 || !strings.Contains(r.Stderr, "bad.toml:3:16: process.api.kill_timeout") {
		t.Errorf("bad config: %d %s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); err == nil {
		t.Error("a failed export created its output folder")
	}
	if _, err := os.Stat(filepath.Join(e.Home, "velos.sock")); err == nil {
		t.Error("velos export started a daemon")
	}
}

// TestExportOverMCP: config_export is a tool like every other; its text
// content (what a model reads) masks the secrets, as structured content does.
func TestExportOverMCP(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := project(t, map[string]string{"velos.toml": exportConfig, "api.js": ""})
	cs := e.Connect(nil)
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "config_export",
		Arguments: map[string]any{"target": "kubernetes", "file": filepath.Join(dir, "velos.toml"), "cron_jobs": true}})
	if err != nil || res.IsError {
		t.Fatalf("config_export: %v %+v", err, res)
	}
	text := res.Content[0].(*mcp.TextContent).Text
	raw, _ := json.Marshal(res.StructuredContent)
	var out tools.ExportOut
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Files) != 1 || !strings.Contains(out.Files[0].Content, "kind: Service") || len(out.Notes) == 0 {
		t.Fatalf("structured content: %+v", out)
	}
	if strings.Contains(text+string(raw), "tok-abcdef") {
		t.Errorf("a secret reached the model:\n%s", text)
	}
	bad, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "config_export",
		Arguments: map[string]any{"target": "compose", "file": filepath.Join(dir, "missing.toml")}})
	if err != nil || !bad.IsError {
		t.Fatalf("missing file: %v %+v", err, bad)
	}
}
