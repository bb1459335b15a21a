package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/core/state"
	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

// envApp is a stand-in api.js: each copy writes its environment to
// node_modules/env-<instance>.json in its cwd, then serves its PORT (the
// copies of a cluster share it) or, without one, idles.
const envApp = `const fs = require("fs");
const e = process.env;
// Into node_modules, which a watch ignores: its own writes must not restart it.
fs.mkdirSync("node_modules", {recursive: true});
const out = "node_modules/env-" + e.VELOS_INSTANCE + ".json";
fs.writeFileSync(out + ".tmp", JSON.stringify({PORT: e.PORT, NODE_ENV: e.NODE_ENV, FOO: e.FOO, pid: process.pid}));
fs.renameSync(out + ".tmp", out);
if (e.PORT) require("http").createServer((q, s) => s.end("pid " + process.pid + "\n")).listen(Number(e.PORT));
else setInterval(() => {}, 1000);
`

// specExample is the config of the issue, verbatim.
const specExample = `[process.api]
script = "./api.js"
instances = 4
mode = "cluster"
max_memory = "1G"
watch = true
watch_ignore = ["node_modules", ".git"]

[process.api.env]
NODE_ENV = "production"
PORT = "3000"

[process.api.env.staging]
NODE_ENV = "staging"
PORT = "3001"
`

type childEnv struct {
	PORT, NODE_ENV, FOO string
	PID                 int `json:"pid"`
}

func needNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
}

// project writes files into a fresh folder and returns it.
func project(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// readEnv waits for the copy `instance` with a pid other than notPID to
// report its environment.
func readEnv(t *testing.T, dir string, instance, notPID int) childEnv {
	t.Helper()
	var ce childEnv
	waitFor(t, fmt.Sprintf("env-%d.json from a new child", instance), 10*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", fmt.Sprintf("env-%d.json", instance)))
		return err == nil && json.Unmarshal(b, &ce) == nil && ce.PID != notPID
	})
	return ce
}

func describeAll(t *testing.T, e *testenv.Env, target string) []tools.ProcessDetail {
	t.Helper()
	var out tools.DescribeOut
	if err := json.Unmarshal([]byte(e.MustRun("describe", target, "--json")), &out); err != nil {
		t.Fatal(err)
	}
	return out.Processes
}

func pids(ps []tools.ProcessInfo, name string) []int {
	var out []int
	for _, p := range ps {
		if p.Name == name {
			out = append(out, p.PID)
		}
	}
	return out
}

func TestSpecExampleStartsWithProfile(t *testing.T) {
	t.Parallel()
	needNode(t)
	e := testenv.New(t)
	// The example's ports, made free ones so that tests can run side by side.
	p0, p1 := freePort(t), freePort(t)
	example := strings.NewReplacer(`"3000"`, `"`+p0+`"`, `"3001"`, `"`+p1+`"`).Replace(specExample)
	dir := project(t, map[string]string{"api.js": envApp, "velos.toml": example})
	r := e.RunIn(dir, "start", "velos.toml", "--env", "staging")
	if r.Code != 0 {
		t.Fatalf("start: %d %s", r.Code, r.Stderr)
	}
	ps := list(t, e)
	if len(ps) != 4 {
		t.Fatalf("want 4 instances, got %+v", ps)
	}
	for i := range 4 {
		if ce := readEnv(t, dir, i, 0); ce.PORT != p1 || ce.NODE_ENV != "staging" {
			t.Fatalf("instance %d runs with %+v, want the staging profile", i, ce)
		}
	}
	// The profile is recorded: config get shows it.
	var got tools.ConfigGetOut
	json.Unmarshal([]byte(e.MustRun("config", "get", "api", "--json")), &got)
	if got.Profile != "staging" || got.Config == nil || got.Config.MaxMemory != "1G" || got.Config.EnvProfiles["staging"]["PORT"] != p1 {
		t.Fatalf("config get: %+v", got)
	}

	// `velos start api.js --env NAME` on the known name runs it with that
	// profile of its recorded config: here back to the base env via a
	// profile that only sets NODE_ENV.
	old := readEnv(t, dir, 0, 0)
	e.MustRun("config", "set", "api", "env.qa.NODE_ENV", "qa")
	r = e.RunIn(dir, "start", "api.js", "--env", "qa")
	if r.Code != 0 {
		t.Fatalf("start api.js --env qa: %d %s", r.Code, r.Stderr)
	}
	if ce := readEnv(t, dir, 0, old.PID); ce.PORT != p0 || ce.NODE_ENV != "qa" {
		t.Fatalf("after --env qa: %+v", ce)
	}
	if len(list(t, e)) != 4 {
		t.Fatal("the profile switch changed the number of instances")
	}
	// An unknown profile changes nothing.
	r = e.RunIn(dir, "start", "api.js", "--env", "prod")
	if r.Code != 1 || !strings.Contains(r.Stderr, `"prod"`) {
		t.Fatalf("unknown profile: %d %s", r.Code, r.Stderr)
	}
}

func TestStartOnlyAndEnvFromFile(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := project(t, map[string]string{"velos.toml": `
[process.a]
script = "sleep"
args = ["300"]

[process.b]
script = "sleep"
args = ["300"]

[process.c]
script = "sleep 300"
`})
	e.MustRun("start", filepath.Join(dir, "velos.toml"), "--only", "a,c")
	ps := list(t, e)
	if len(ps) != 2 || find(ps, "a") == nil || find(ps, "c") == nil {
		t.Fatalf("--only a,c started %+v", ps)
	}
	r := e.Run("start", filepath.Join(dir, "velos.toml"), "--only", "zz")
	if r.Code != 1 || !strings.Contains(r.Stderr, "--only zz") || !strings.Contains(r.Stderr, "a, b, c") {
		t.Fatalf("--only zz: %d %s", r.Code, r.Stderr)
	}
}

func TestReloadFileAppliesOnlyChanges(t *testing.T) {
	t.Parallel()
	needNode(t)
	e := testenv.New(t)
	v1 := `
[process.same]
script = "sleep"
args = ["300"]

[process.api]
script = "./api.js"
instances = 2

[process.api.env]
PORT = "3000"
`
	portA, portB := freePort(t), freePort(t)
	v1 = strings.Replace(v1, `"3000"`, `"`+portA+`"`, 1)
	dir := project(t, map[string]string{"api.js": envApp, "velos.toml": v1})
	cfg := filepath.Join(dir, "velos.toml")
	e.MustRun("start", cfg)
	e.MustRun("start", "sleep", "--name", "outside", "--", "300")
	before := list(t, e)
	old0 := readEnv(t, dir, 0, 0)

	// A broken edit changes nothing.
	os.WriteFile(cfg, []byte(v1+"\n[process.new]\nscript = \"sleep\"\nkill_timeout = \"soon\"\n"), 0o644)
	r := e.Run("reload", cfg)
	if r.Code != 1 || !strings.Contains(r.Stderr, "velos.toml:") || !strings.Contains(r.Stderr, "kill_timeout") {
		t.Fatalf("reload of a bad file: %d %s", r.Code, r.Stderr)
	}
	if after := list(t, e); len(after) != len(before) || find(after, "new") != nil {
		t.Fatalf("a bad reload changed the list: %+v", after)
	}

	v2 := strings.Replace(v1, `PORT = "`+portA+`"`, `PORT = "`+portB+`"`, 1) + "\n[process.new]\nscript = \"sleep\"\nargs = [\"300\"]\n"
	os.WriteFile(cfg, []byte(v2), 0o644)
	var out tools.ReloadOut
	if err := json.Unmarshal([]byte(e.MustRun("reload", cfg, "--json")), &out); err != nil {
		t.Fatal(err)
	}
	actions := map[string]string{}
	for _, row := range out.Processes {
		actions[row.Name] = row.Action
	}
	want := map[string]string{"same": "unchanged", "api": "restarted", "new": "started", "outside": "kept"}
	for k, v := range want {
		if actions[k] != v {
			t.Errorf("%s: action %q, want %q (all: %v)", k, actions[k], v, actions)
		}
	}
	after := list(t, e)
	if got := pids(after, "same"); got[0] != pids(before, "same")[0] {
		t.Errorf("unchanged process got a new pid")
	}
	if got := pids(after, "outside"); len(got) != 1 || got[0] != pids(before, "outside")[0] {
		t.Errorf("a process not in the file was touched: %v", got)
	}
	if ce := readEnv(t, dir, 0, old0.PID); ce.PORT != portB {
		t.Errorf("api after reload runs with PORT=%s", ce.PORT)
	}
	for _, d := range describeAll(t, e, "api") {
		if n := len(d.History); n != 1 || d.History[0].Cause != "reload" {
			t.Errorf("api instance %d history %+v, want one reload", d.Instance, d.History)
		}
	}
	// The recorded config follows the file: a save holds the new PORT.
	var got tools.ConfigGetOut
	json.Unmarshal([]byte(e.MustRun("config", "get", "api", "env.PORT", "--json")), &got)
	if got.Value != portB {
		t.Errorf("config get api env.PORT = %v", got.Value)
	}
}

// TestReloadByNameIsRolling: instances restart one after the other, each
// stop waiting out the previous instance's slow graceful exit.
func TestReloadByNameIsRolling(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	slow := `trap 'sleep 0.4; exit 0' TERM; while true; do sleep 0.05; done`
	e.MustRun("start", slow, "--name", "web", "-i", "3")
	before := list(t, e)
	var out tools.ReloadOut
	if err := json.Unmarshal([]byte(e.MustRun("reload", "web", "--json")), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Processes) != 3 {
		t.Fatalf("reload touched %+v", out.Processes)
	}
	ds := describeAll(t, e, "web")
	var times []time.Time
	for i, d := range ds {
		if d.PID == before[i].PID || d.Status != "online" || len(d.History) != 1 || d.History[0].Cause != "reload" {
			t.Fatalf("instance %d after reload: %+v", i, d)
		}
		times = append(times, d.History[0].Time)
	}
	// Parallel restarts would all be recorded within a few ms; one at a
	// time, each waits for the previous one's 0.4s stop.
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < 300*time.Millisecond {
			t.Fatalf("instance %d restarted %v after instance %d: not one at a time", i, gap, i-1)
		}
	}
	r := e.Run("reload", "nope")
	if r.Code != 1 || !strings.Contains(r.Stderr, "unknown process") {
		t.Fatalf("reload nope: %d %s", r.Code, r.Stderr)
	}
}

// TestBadConfigsChangeNothing runs broken files through the real CLI: each
// must fail with the file, line, column and key, start nothing, and
// config validate must report the same.
func TestBadConfigsChangeNothing(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := t.TempDir()
	e.MustRun("start", "sleep", "--name", "keep", "--", "300")
	keep := list(t, e)
	const head = "[process.api]\nscript = \"sleep\"\n"
	cases := []struct {
		name, body, want string
	}{
		{"size", head + `max_memory = "2X"`, `:3:14: process.api.max_memory: "2X" is not a size`},
		{"instances", head + `instances = "four"`, `:3:13: process.api.instances: "four"`},
		{"enum", head + `autorestart = "sometimes"`, `:3:15: process.api.autorestart: "sometimes" is not one of always, on-failure, never`},
		{"duration", head + `kill_timeout = "5 seconds"`, `:3:16: process.api.kill_timeout: "5 seconds" is not a duration`},
		{"cron", head + `cron_restart = "61 * * * *"`, `:3:16: process.api.cron_restart: "61 * * * *" is not a cron expression`},
		{"typo", head + `scirpt = "x"`, `:3:1: process.api.scirpt: unknown key (did you mean "script"?)`},
		{"syntax", "[process.api]\nscript = \"sleep\n", `:2:16: syntax error`},
		{"type", "[process.api]\nscript = 42\n", `:2:10: process.api.script: want a string, got an integer`},
		{"mode", head + `mode = "clustr"`, `:3:8: process.api.mode: "clustr" is not one of fork, cluster (did you mean "cluster"?)`},
		{"signal", head + `kill_signal = "SIGFOO"`, `:3:15: process.api.kill_signal: unknown signal "SIGFOO"`},
		{"factor", head + `restart_factor = 0.5`, `:3:18: process.api.restart_factor: 0.5 is below 1`},
		{"negative", head + `max_restarts = -1`, `:3:16: process.api.max_restarts: -1 is negative`},
		{"missing script", "[process.api]\nscript = \"./missing.js\"\n", `:2:10: process.api.script: ` + dir},
		{"env file", head + `env_file = "./nope.env"`, `:3:12: process.api.env_file: ` + dir},
		{"list", head + "watch = true\nwatch_paths = \"src\"", `:4:15: process.api.watch_paths: want an array of strings`},
		{"no script", "[process.api]\nargs = [\"x\"]\n", `:1:10: process.api.script: missing`},
		{"second process", head + "[process.web]\nscript = \"sleep\"\nmin_uptime = \"-5s\"\n", `:5:14: process.web.min_uptime: "-5s" is negative`},
		{"top-level typo", "[proces.api]\nscript = \"sleep\"\n", `:1:2: proces: unknown key (did you mean "process"?)`},
		{"twice", head + `script = "sleep"`, `:3:1: process.api.script: set twice (first at line `},
		{"profile type", head + "[process.api.env.staging]\nPORT = [\"3001\"]\n", `:4:8: process.api.env.staging.PORT: want a string, got an array`},
		{"bool", head + `wait_ready = "yes"`, `:3:14: process.api.wait_ready: want true or false`},
	}
	for i, c := range cases {
		// A good process first in each file: nothing at all may start.
		file := filepath.Join(dir, fmt.Sprintf("bad%02d.toml", i))
		body := "[process.good]\nscript = \"sleep\"\nargs = [\"300\"]\n\n"
		lines := strings.Count(body, "\n")
		if err := os.WriteFile(file, []byte(body+c.body+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// Positions in want are for the body alone: shift the line.
		want := shiftLine(c.want, lines)
		for _, cmd := range [][]string{{"start", file}, {"config", "validate", file}, {"reload", file}} {
			r := e.Run(cmd...)
			if r.Code != 1 {
				t.Errorf("%s: velos %s: exit %d, want 1\n%s", c.name, cmd[0], r.Code, r.Stderr)
				continue
			}
			if !strings.Contains(r.Stderr, file+want) {
				t.Errorf("%s: velos %s: stderr lacks %q:\n%s", c.name, cmd[0], file+want, r.Stderr)
			}
		}
		if ps := list(t, e); len(ps) != 1 || ps[0].PID != keep[0].PID {
			t.Fatalf("%s: the process list changed: %+v", c.name, ps)
		}
	}
	// Several problems are all reported at once.
	file := filepath.Join(dir, "many.toml")
	os.WriteFile(file, []byte(head+"max_memory = \"2X\"\nkill_timeout = \"x\"\nscirpt = 1\n"), 0o644)
	r := e.Run("config", "validate", file)
	for _, w := range []string{":3:14: process.api.max_memory", ":4:16: process.api.kill_timeout", ":5:1: process.api.scirpt"} {
		if !strings.Contains(r.Stderr, file+w) {
			t.Errorf("validate of many problems lacks %s:\n%s", w, r.Stderr)
		}
	}
	// --json puts it in one error object.
	r = e.Run("config", "validate", file, "--json")
	var je struct{ Error string }
	if r.Code != 1 || json.Unmarshal([]byte(r.Stderr), &je) != nil || strings.Count(je.Error, "\n") != 2 {
		t.Errorf("--json error: %d %s", r.Code, r.Stderr)
	}
}

// shiftLine adds n to the line of a ":L:C: …" fragment.
func shiftLine(frag string, n int) string {
	var l, c int
	var rest string
	if k, _ := fmt.Sscanf(frag, ":%d:%d:", &l, &c); k != 2 {
		return frag
	}
	_, rest, _ = strings.Cut(frag[1:], ": ")
	return fmt.Sprintf(":%d:%d: %s", l+n, c, rest)
}

// TestValidateNeedsNoDaemon: checking a file starts no daemon.
func TestValidateNeedsNoDaemon(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := project(t, map[string]string{"velos.toml": "[process.a]\nscript = \"sleep\"\nargs = [\"1\"]\n", "bad.toml": "[process.a]\nscript = \"sleep\"\nkill_timeout = \"x\"\n"})
	if out := e.MustRun("config", "validate", filepath.Join(dir, "velos.toml"), "--ai"); !strings.Contains(out, `"a"`) {
		t.Fatalf("validate printed %s", out)
	}
	if r := e.Run("config", "validate", filepath.Join(dir, "bad.toml")); r.Code != 1 || !strings.Contains(r.Stderr, "bad.toml:3:16: process.a.kill_timeout") {
		t.Fatalf("validate bad.toml: %d %s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(e.Home, "velos.sock")); err == nil {
		t.Fatal("config validate started a daemon")
	}
}

func TestConfigGetSetCLIAndMCP(t *testing.T) {
	t.Parallel()
	needNode(t)
	e := testenv.New(t)
	dir := project(t, map[string]string{"api.js": envApp, "velos.toml": "[process.api]\nscript = \"./api.js\"\n"})
	e.MustRun("start", filepath.Join(dir, "velos.toml"))
	first := readEnv(t, dir, 0, 0)

	// A bad value: the same message as the same line in a file.
	r := e.Run("config", "set", "api", "max_memory", "2X")
	fileErr := func() string {
		_, err := config.Parse("f.toml", []byte("[process.api]\nscript = \"sleep\"\nmax_memory = \"2X\"\n"))
		return strings.TrimPrefix(err.Error(), "f.toml:3:14: process.api.")
	}()
	if r.Code != 1 || !strings.Contains(r.Stderr, fileErr) {
		t.Fatalf("config set bad value: %d %q, want %q", r.Code, r.Stderr, fileErr)
	}

	set := func(key, value string) tools.ConfigSetOut {
		t.Helper()
		var out tools.ConfigSetOut
		if err := json.Unmarshal([]byte(e.MustRun("config", "set", "api", key, value, "--json")), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := set("kill_timeout", "2s"); out.Applied != tools.AppliedNow {
		t.Fatalf("kill_timeout: %+v", out)
	}
	if d := describeAll(t, e, "api")[0]; d.KillTimeout != "2s" || d.PID != first.PID {
		t.Fatalf("kill_timeout not live or process restarted: %+v", d)
	}
	if out := set("env.FOO", "bar"); out.Applied != tools.AppliedRestart {
		t.Fatalf("env.FOO: %+v", out)
	}
	if out := set("env.FOO", "bar"); out.Applied != tools.AppliedNone {
		t.Fatalf("same value again: %+v", out)
	}
	// A new count applies at once: a second instance joins, the first runs on.
	if out := set("instances", "2"); out.Applied != tools.AppliedNow {
		t.Fatalf("instances: %+v", out)
	}
	if ps := list(t, e); len(ps) != 2 || ps[0].PID != first.PID {
		t.Fatalf("after instances = 2: %+v (first pid %d)", ps, first.PID)
	}
	e.MustRun("restart", "api")
	if ce := readEnv(t, dir, 0, first.PID); ce.FOO != "bar" {
		t.Fatalf("after restart FOO=%q", ce.FOO)
	}
	e.MustRun("reload", "api")
	if n := len(list(t, e)); n != 2 {
		t.Fatalf("reload did not apply instances=2: %d", n)
	}
	var got tools.ConfigGetOut
	json.Unmarshal([]byte(e.MustRun("config", "get", "api", "kill_timeout", "--json")), &got)
	if got.Value != "2s" {
		t.Fatalf("config get kill_timeout = %v", got.Value)
	}
	// Persisted: the next save holds the changes.
	e.MustRun("save")
	d, err := state.Load(state.Path(e.Home))
	if err != nil || len(d.Processes) != 1 || d.Processes[0].Process.KillTimeout != "2s" || d.Processes[0].Process.Env["FOO"] != "bar" {
		t.Fatalf("dump: %+v %v", d, err)
	}

	// Through MCP: the same tool, the same checks.
	cs := e.Connect(nil)
	ctx := context.Background()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "config_set", Arguments: map[string]any{"name": "api", "key": "max_memory", "value": "300M"}})
	if err != nil || res.IsError {
		t.Fatalf("mcp config_set: %v %+v", err, res)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var so tools.ConfigSetOut
	json.Unmarshal(b, &so)
	if so.Applied != tools.AppliedNow || so.Value != "300M" {
		t.Fatalf("mcp config_set: %s", b)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "config_set", Arguments: map[string]any{"name": "api", "key": "max_memory", "value": "2X"}})
	if err != nil || !res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, fileErr) {
		t.Fatalf("mcp bad value: %v %+v", err, res)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "config_get", Arguments: map[string]any{"name": "api", "key": "max_memory"}})
	if err != nil || res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, `"300M"`) {
		t.Fatalf("mcp config_get: %v %+v", err, res)
	}
	r = e.Run("config", "get", "api", "nosuch")
	if r.Code != 1 || !strings.Contains(r.Stderr, "nosuch: unknown key") {
		t.Fatalf("config get nosuch: %d %s", r.Code, r.Stderr)
	}
}

// daemonWith runs `velos daemon args…` in the foreground with extra
// environment, as systemd would, and returns its wait channel.
func daemonWith(t *testing.T, e *testenv.Env, env []string, args ...string) (*exec.Cmd, <-chan error) {
	t.Helper()
	cmd := exec.Command(e.Bin, append([]string{"daemon"}, args...)...)
	cmd.Env = append(append(os.Environ(), "VELOS_HOME="+e.Home), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Closed after its one value, so the cleanup below can wait on it
	// again after the test has.
	done := make(chan error, 1)
	go func() {
		done <- cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		// velos kill first: a daemon killed outright leaves its processes
		// running (for the next daemon to adopt).
		e.Run("kill")
		cmd.Process.Kill()
		<-done
	})
	waitFor(t, "the daemon's socket", 10*time.Second, func() bool {
		c, err := net.Dial("unix", filepath.Join(e.Home, "velos.sock"))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return cmd, done
}

func TestSaveKillResurrect(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := project(t, map[string]string{"velos.toml": `
[process.worker]
script = "sleep"
args = ["300"]
kill_timeout = "1s"

[process.worker.env]
MODE = "base"

[process.worker.env.staging]
MODE = "staging"
`})
	e.MustRun("start", filepath.Join(dir, "velos.toml"), "--env", "staging")
	e.MustRun("start", "sleep", "--name", "plain", "-i", "2", "--", "300")
	e.MustRun("config", "set", "plain", "max_memory", "100M")
	var saved tools.SaveOut
	json.Unmarshal([]byte(e.MustRun("save", "--json")), &saved)
	if len(saved.Processes) != 2 || saved.Path != filepath.Join(e.Home, "dump.toml") {
		t.Fatalf("save: %+v", saved)
	}
	configs := func() map[string]tools.ConfigGetOut {
		m := map[string]tools.ConfigGetOut{}
		for _, n := range []string{"worker", "plain"} {
			var g tools.ConfigGetOut
			json.Unmarshal([]byte(e.MustRun("config", "get", n, "--json")), &g)
			m[n] = g
		}
		return m
	}
	before := configs()
	beforeSpecs := map[string]string{}
	for _, d := range describeAll(t, e, "all") {
		beforeSpecs[d.Name] = fmt.Sprint(d.Command, d.Env, d.Cwd)
	}
	e.MustRun("kill")

	_, done := daemonWith(t, e, nil, "--resurrect")
	ps := list(t, e)
	if len(ps) != 3 || len(pids(ps, "plain")) != 2 || find(ps, "worker") == nil {
		t.Fatalf("after resurrect: %+v", ps)
	}
	for _, p := range ps {
		if p.Status != "online" || !alive(p.PID) {
			t.Fatalf("not running after resurrect: %+v", p)
		}
	}
	after := configs()
	for n, b := range before {
		bj, _ := json.Marshal(b)
		aj, _ := json.Marshal(after[n])
		if string(bj) != string(aj) {
			t.Errorf("%s config changed over save/resurrect:\n%s\n%s", n, bj, aj)
		}
	}
	for _, d := range describeAll(t, e, "all") {
		if got := fmt.Sprint(d.Command, d.Env, d.Cwd); got != beforeSpecs[d.Name] {
			t.Errorf("%s runs as %s, before %s", d.Name, got, beforeSpecs[d.Name])
		}
	}
	// A second resurrect skips what runs.
	var res tools.ResurrectOut
	json.Unmarshal([]byte(e.MustRun("resurrect", "--json")), &res)
	if len(res.Started) != 0 || len(res.Skipped) != 2 {
		t.Fatalf("second resurrect: %+v", res)
	}
	e.MustRun("kill")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the foreground daemon did not exit after velos kill")
	}
}

func TestBadDumpNeverStopsTheDaemon(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, dump, want string
	}{
		{"corrupt", "version = 1\n[[processes]\nname = ", "corrupt dump"},
		{"newer", "version = 99\nsaved_at = 2026-01-01T00:00:00Z\n", "unsupported dump version"},
		{"not a dump", "\x00\x01binary", "corrupt dump"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := testenv.New(t)
			os.WriteFile(filepath.Join(e.Home, "dump.toml"), []byte(c.dump), 0o600)
			daemonWith(t, e, nil, "--resurrect")
			if ps := list(t, e); len(ps) != 0 {
				t.Fatalf("processes from a bad dump: %+v", ps)
			}
			log, _ := os.ReadFile(filepath.Join(e.Home, "daemon.log"))
			if !strings.Contains(string(log), c.want) {
				t.Fatalf("daemon.log lacks %q:\n%s", c.want, log)
			}
			r := e.Run("resurrect")
			if r.Code != 1 || !strings.Contains(r.Stderr, c.want) || !strings.Contains(r.Stderr, "dump.toml") {
				t.Fatalf("resurrect: %d %s", r.Code, r.Stderr)
			}
			// The daemon still serves.
			e.MustRun("start", "sleep", "--name", "ok", "--", "300")
		})
	}
	e := testenv.New(t)
	r := e.Run("resurrect")
	if r.Code != 1 || !strings.Contains(r.Stderr, "nothing saved") {
		t.Fatalf("resurrect without a dump: %d %s", r.Code, r.Stderr)
	}
}

// TestDaemonSdNotify plays systemd: it listens on its own NOTIFY_SOCKET and
// expects READY=1 once the daemon serves, then WATCHDOG=1 keep-alives.
func TestDaemonSdNotify(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	for _, sock := range []string{filepath.Join(e.Home, "notify"), fmt.Sprintf("@velos-notify-%d", os.Getpid())} {
		conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		next := func() string {
			buf := make([]byte, 1024)
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("%s: %v", sock, err)
			}
			return string(buf[:n])
		}
		os.WriteFile(filepath.Join(e.Home, "dump.toml"), nil, 0o600) // an empty dump: resurrect runs and finds nothing
		_, done := daemonWith(t, e, []string{"NOTIFY_SOCKET=" + sock, "WATCHDOG_USEC=200000"}, "--resurrect")
		if m := next(); !strings.HasPrefix(m, "READY=1") {
			t.Fatalf("first message %q, want READY=1", m)
		}
		for range 2 {
			if m := next(); m != "WATCHDOG=1" {
				t.Fatalf("got %q, want WATCHDOG=1", m)
			}
		}
		// Children must not inherit the daemon's notify socket.
		e.MustRun("start", "sh", "--name", "envdump", "--", "-c", "env > "+filepath.Join(e.Home, "child.env")+"; sleep 300")
		waitFor(t, "child.env", 5*time.Second, func() bool {
			b, _ := os.ReadFile(filepath.Join(e.Home, "child.env"))
			return bytes.Contains(b, []byte("VELOS_NAME="))
		})
		// (A child has a NOTIFY_SOCKET of its own, in the daemon's run folder.)
		if b, _ := os.ReadFile(filepath.Join(e.Home, "child.env")); bytes.Contains(b, []byte("NOTIFY_SOCKET="+sock)) || bytes.Contains(b, []byte("WATCHDOG_USEC")) ||
			!bytes.Contains(b, []byte("NOTIFY_SOCKET="+filepath.Join(e.Home, "run"))) {
			t.Fatalf("a child inherited the daemon's notify variables, or has no socket of its own:\n%s", b)
		}
		e.MustRun("kill")
		for m := next(); m != "STOPPING=1"; m = next() {
			if m != "WATCHDOG=1" {
				t.Fatalf("got %q while stopping", m)
			}
		}
		<-done
		conn.Close()
		os.Remove(filepath.Join(e.Home, "child.env"))
	}
}

func TestStartupUnits(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	cfgHome := t.TempDir()
	// The daemon answers startup: give it our XDG_CONFIG_HOME, as the
	// user's shell would.
	daemonWith(t, e, []string{"XDG_CONFIG_HOME=" + cfgHome})

	for _, args := range [][]string{{"startup", "systemd"}, {"startup", "systemd", "--system"}} {
		out := e.MustRun(args...)
		if !strings.Contains(out, "ExecStart=\""+e.Bin+"\" daemon --resurrect") || !strings.Contains(out, "Type=notify") {
			t.Fatalf("%v printed:\n%s", args, out)
		}
		if strings.Contains(out, "User=") != (len(args) == 3) {
			t.Fatalf("%v: User= only in system units:\n%s", args, out)
		}
		sa, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Log("systemd-analyze is not installed: unit not verified")
			continue
		}
		unit := filepath.Join(t.TempDir(), "velos.service")
		os.WriteFile(unit, []byte(out), 0o644)
		vout, err := exec.Command(sa, "verify", unit).CombinedOutput()
		if err != nil && !strings.Contains(string(vout), "velos.service") {
			t.Logf("systemd-analyze verify cannot run here (%v): %s", err, vout)
			continue
		}
		if strings.Contains(string(vout), "velos.service") {
			t.Fatalf("%v: systemd-analyze verify:\n%s\n%s", args, vout, out)
		}
	}
	for _, sys := range []string{"launchd", "openrc"} {
		if out := e.MustRun("startup", sys); !strings.Contains(out, e.Bin) || !strings.Contains(out, e.Home) {
			t.Fatalf("startup %s:\n%s", sys, out)
		}
	}
	r := e.Run("startup", "upstart")
	if r.Code == 0 || !strings.Contains(r.Stderr, "systemd") {
		t.Fatalf("startup upstart: %d %s", r.Code, r.Stderr)
	}

	// --install writes the user unit; unstartup removes it.
	path := filepath.Join(cfgHome, "systemd", "user", "velos.service")
	out := e.MustRun("startup", "systemd", "--install")
	if !strings.Contains(out, "wrote "+path) || !strings.Contains(out, "systemctl --user enable") {
		t.Fatalf("install printed:\n%s", out)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Contains(b, []byte("daemon --resurrect")) {
		t.Fatalf("installed unit: %v %s", err, b)
	}
	var un tools.UnstartupOut
	json.Unmarshal([]byte(e.MustRun("unstartup", "systemd", "--json")), &un)
	if !un.Removed || un.Path != path {
		t.Fatalf("unstartup: %+v", un)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unit still there: %v", err)
	}
	// A file velos did not write is left alone.
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, []byte("[Service]\nExecStart=/bin/true\n"), 0o644)
	if r := e.Run("unstartup", "systemd"); r.Code != 1 || !strings.Contains(r.Stderr, "left in place") {
		t.Fatalf("unstartup of a foreign file: %d %s", r.Code, r.Stderr)
	}
	if r := e.Run("startup", "systemd", "--install"); r.Code != 1 || !strings.Contains(r.Stderr, "left in place") {
		t.Fatalf("install over a foreign file: %d %s", r.Code, r.Stderr)
	}
}

func TestCronRestart(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := project(t, map[string]string{"velos.toml": `
[process.tick]
script = "sleep"
args = ["300"]
cron_restart = "* * * * * *"
`})
	e.MustRun("start", filepath.Join(dir, "velos.toml"))
	d := describeAll(t, e, "tick")[0]
	if d.NextCron.IsZero() || time.Until(d.NextCron) > 2*time.Second {
		t.Fatalf("next cron = %v", d.NextCron)
	}
	// Under load a restart may already have happened before d was read:
	// wait for one more than d shows.
	waitFor(t, "a cron restart", 5*time.Second, func() bool {
		h := describeAll(t, e, "tick")[0].History
		return len(h) > len(d.History) && h[len(h)-1].Cause == "cron"
	})
	if p := find(list(t, e), "tick"); p.Status != "online" || p.PID == d.PID {
		t.Fatalf("after the cron restart: %+v (was pid %d)", p, d.PID)
	}
	// Cleared with config_set: no more restarts, no next run shown.
	e.MustRun("config", "set", "tick", "cron_restart", "")
	n := len(describeAll(t, e, "tick")[0].History)
	time.Sleep(1500 * time.Millisecond)
	d = describeAll(t, e, "tick")[0]
	if len(d.History) > n+1 || !d.NextCron.IsZero() {
		t.Fatalf("after clearing cron_restart: %d restarts (was %d), next %v", len(d.History), n, d.NextCron)
	}
	// Set again at once through config_set, on a process without one.
	e.MustRun("start", "sleep", "--name", "other", "--", "300")
	if out := e.MustRun("config", "set", "other", "cron_restart", "0 3 * * *", "--json"); !strings.Contains(out, `"applied"`) {
		t.Fatalf("config set cron_restart: %s", out)
	}
	if next := describeAll(t, e, "other")[0].NextCron; next.IsZero() || next.Minute() != 0 {
		t.Fatalf("other's next cron = %v", next)
	}
}
