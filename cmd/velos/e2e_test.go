package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tool/schema"
	"github.com/velos-pm/velos/tools"
)

// freePort is a free loopback port, as text for configs and flags.
func freePort(t *testing.T) string { return strconv.Itoa(testenv.FreePort(t)) }

// list returns `velos list --json` as processes.
func list(t *testing.T, e *testenv.Env) []tools.ProcessInfo {
	t.Helper()
	var out tools.ProcessesOut
	if err := json.Unmarshal([]byte(e.MustRun("list", "--json")), &out); err != nil {
		t.Fatal(err)
	}
	return out.Processes
}

func find(ps []tools.ProcessInfo, name string) *tools.ProcessInfo {
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i]
		}
	}
	return nil
}

func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || len(b) < i+3 || b[i+2] != 'Z'
}

// waitFor polls the CLI: the daemon is another process, so there is no
// channel to wait on; the deadline bounds it.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLifecycleByNameIDAndAll(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "api", "--", "300")
	e.MustRun("start", "sleep", "--name", "worker", "--", "300")
	ps := list(t, e)
	api := find(ps, "api")
	if api == nil || api.Status != "online" || !alive(api.PID) {
		t.Fatalf("after start: %+v", ps)
	}
	e.MustRun("stop", "api")
	if p := find(list(t, e), "api"); p.Status != "stopped" || p.PID != 0 || alive(api.PID) {
		t.Fatalf("after stop: %+v (old pid alive=%v)", p, alive(api.PID))
	}
	e.MustRun("restart", "api")
	p := find(list(t, e), "api")
	if p.Status != "online" || p.PID == api.PID || !alive(p.PID) {
		t.Fatalf("after restart: %+v", p)
	}
	// By numeric id.
	w := find(list(t, e), "worker")
	e.MustRun("restart", strconv.Itoa(w.ID))
	if w2 := find(list(t, e), "worker"); w2.PID == w.PID || w2.Restarts != 1 {
		t.Fatalf("restart by id: %+v", w2)
	}
	// All.
	before := list(t, e)
	e.MustRun("stop", "all")
	for _, p := range list(t, e) {
		if p.Status != "stopped" {
			t.Fatalf("stop all left %+v", p)
		}
	}
	for _, p := range before {
		if alive(p.PID) {
			t.Fatalf("pid %d of %s survived stop all", p.PID, p.Name)
		}
	}
	e.MustRun("restart", "all")
	for _, p := range list(t, e) {
		if p.Status != "online" {
			t.Fatalf("restart all left %+v", p)
		}
	}
	e.MustRun("delete", strconv.Itoa(find(list(t, e), "api").ID))
	if find(list(t, e), "api") != nil {
		t.Fatal("delete by id left api")
	}
	e.MustRun("delete", "all")
	if ps := list(t, e); len(ps) != 0 {
		t.Fatalf("delete all left %+v", ps)
	}
}

func TestKilledChildRestartsWithCause(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "victim", "--", "300")
	p := find(list(t, e), "victim")
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "restart", 5*time.Second, func() bool {
		q := find(list(t, e), "victim")
		return q.Status == "online" && q.PID != p.PID
	})
	var d struct{ Processes []tools.ProcessDetail }
	if err := json.Unmarshal([]byte(e.MustRun("describe", "victim", "--json")), &d); err != nil {
		t.Fatal(err)
	}
	got := d.Processes[0]
	if got.Restarts != 1 || len(got.History) != 1 || got.History[0].Cause != "SIGKILL" || got.LastExit.Signal != "SIGKILL" {
		t.Fatalf("describe after kill -9: %+v", got)
	}
}

// cpuTicks is a process's user+system CPU time in clock ticks.
func cpuTicks(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return u + s
}

func TestExitAtOnceEndsErroredWithDefaults(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	start := time.Now()
	e.MustRun("start", "sh", "--name", "flap", "--", "-c", "exit 4")
	waitFor(t, "errored", 30*time.Second, func() bool { return find(list(t, e), "flap").Status == "errored" })
	t.Logf("errored after %v", time.Since(start).Round(time.Millisecond))
	var d struct{ Processes []tools.ProcessDetail }
	if err := json.Unmarshal([]byte(e.MustRun("describe", "flap", "--json")), &d); err != nil {
		t.Fatal(err)
	}
	p := d.Processes[0]
	if p.LastExit == nil || p.LastExit.Code != 4 || !strings.Contains(p.Reason, "crash loop") || p.Restarts != 10 {
		t.Fatalf("errored process: %+v exit %+v", p, p.LastExit)
	}
	// The daemon is idle now: no busy loop behind the errored process.
	b, err := os.ReadFile(e.Home + "/daemon.pid")
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	before := cpuTicks(t, pid)
	time.Sleep(time.Second)
	if used := cpuTicks(t, pid) - before; used > 5 {
		t.Fatalf("daemon used %d ticks in 1s while its only process is errored", used)
	}
}

func TestStopSignals(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := t.TempDir()
	// Exits by itself on SIGTERM with status 7.
	e.MustRun("start", "sh", "--name", "polite", "--", "-c", `trap "exit 7" TERM; touch `+dir+`/ready; while :; do sleep 0.05; done`)
	waitFor(t, "trap", 5*time.Second, func() bool { _, err := os.Stat(dir + "/ready"); return err == nil })
	e.MustRun("stop", "polite")
	var d struct{ Processes []tools.ProcessDetail }
	json.Unmarshal([]byte(e.MustRun("describe", "polite", "--json")), &d)
	if ex := d.Processes[0].LastExit; ex == nil || ex.Code != 7 {
		t.Fatalf("polite exit = %+v, want its own status 7", ex)
	}
	// Ignores SIGTERM and forks a grandchild: SIGKILLed after kill_timeout, grandchild too.
	e.MustRun("start", "sh", "--name", "stubborn", "--kill-timeout", "500ms", "--", "-c",
		`trap "" TERM; sleep 300 & echo $! > `+dir+`/gc; while :; do sleep 0.05; done`)
	var gpid int
	waitFor(t, "grandchild", 5*time.Second, func() bool {
		b, _ := os.ReadFile(dir + "/gc")
		gpid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return gpid > 0
	})
	t0 := time.Now()
	e.MustRun("stop", "stubborn")
	if took := time.Since(t0); took < 500*time.Millisecond {
		t.Fatalf("stop took %v: kill_timeout not honoured", took)
	}
	json.Unmarshal([]byte(e.MustRun("describe", "stubborn", "--json")), &d)
	if ex := d.Processes[0].LastExit; ex == nil || ex.Signal != "SIGKILL" {
		t.Fatalf("stubborn exit = %+v, want SIGKILL", ex)
	}
	waitFor(t, "grandchild gone", 2*time.Second, func() bool { return !alive(gpid) })
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "api", "--", "300")
	before := list(t, e)
	cases := []struct {
		args []string
		want string
		code int
	}{
		{[]string{"stop", "nope"}, `unknown process "nope"; known: api`, 1},
		{[]string{"describe", "nope"}, "known: api", 1},
		{[]string{"start", "./missing.js"}, "missing.js: no such file", 1},
		{[]string{"start", "no-such-program-xyz"}, "no-such-program-xyz", 1},
		{[]string{"start", "sleep", "--name", "api", "--", "1"}, "already exists", 1},
		{[]string{"start", "sleep", "--autorestart", "sometimes"}, "--autorestart must be one of", 2},
		{[]string{"start", "sleep", "--kill-timeout", "soon"}, `kill_timeout: "soon" is not a duration`, 1},
		{[]string{"stop"}, `expected "<target>"`, 2},
		{[]string{"frobnicate"}, "unexpected argument frobnicate", 2},
	}
	for _, c := range cases {
		r := e.Run(c.args...)
		if r.Code != c.code || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("velos %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), r.Code, r.Stderr, c.code, c.want)
		}
		// The same error as one JSON object with --ai.
		r = e.Run(append([]string{"--ai"}, c.args...)...)
		var obj map[string]string
		if r.Code != c.code || json.Unmarshal([]byte(r.Stderr), &obj) != nil || !strings.Contains(obj["error"], c.want) {
			t.Errorf("velos %s --ai: exit %d, stderr %q; want a JSON error", strings.Join(c.args, " "), r.Code, r.Stderr)
		}
	}
	after := list(t, e)
	if len(after) != 1 || after[0].PID != before[0].PID || after[0].Restarts != 0 {
		t.Fatalf("bad input changed things: before %+v after %+v", before, after)
	}
}

func TestHelpListsRegistry(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	out := e.MustRun("--help")
	for _, tl := range tools.All {
		if !strings.Contains(out, "  "+tl.Info().CLI) || !strings.Contains(out, tl.Info().Summary[:min(30, len(tl.Info().Summary))]) {
			t.Errorf("--help lacks %s", tl.Info().CLI)
		}
	}
}

func TestDaemonOnePerHomeAndStaleSocket(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("list") // starts the daemon
	r := e.Run("daemon")
	if r.Code == 0 || !strings.Contains(r.Stderr, "already running") {
		t.Fatalf("second daemon: exit %d %q", r.Code, r.Stderr)
	}
	fi, err := os.Stat(e.Home + "/velos.sock")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	// A crashed daemon leaves its socket behind; the next call replaces it.
	b, _ := os.ReadFile(e.Home + "/daemon.pid")
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	syscall.Kill(pid, syscall.SIGKILL)
	// Gone means its lock is free: the last of its threads has exited (a
	// leader can show as a zombie while the others still hold its socket).
	if err := daemon.WaitStopped(daemon.Home{Dir: e.Home}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(e.Home + "/velos.sock"); err != nil {
		t.Fatalf("expected a stale socket: %v", err)
	}
	e.MustRun("list")
	b, _ = os.ReadFile(e.Home + "/daemon.pid")
	if npid, _ := strconv.Atoi(strings.TrimSpace(string(b))); npid == pid || !alive(npid) {
		t.Fatalf("no new daemon after a stale socket (old %d new %d)", pid, npid)
	}
	// When velos kill returns the daemon has let go of VELOS_HOME, and the
	// next command starts a new one at once — every time.
	for i := 0; i < 5; i++ {
		b, _ = os.ReadFile(e.Home + "/daemon.pid")
		dpid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		e.MustRun("kill")
		// The lock is free when kill returns; the process itself may take a
		// moment more to be gone.
		waitFor(t, "daemon gone after velos kill", 5*time.Second, func() bool { return !alive(dpid) })
		if r := e.Run("list"); r.Code != 0 {
			t.Fatalf("list right after kill should start a daemon again: %+v", r)
		}
	}
}

func TestMCPServerBridge(t *testing.T) {
	for _, version := range []string{"2026-07-28", "2025-11-25"} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			e := testenv.New(t)
			e.MustRun("start", "sleep", "--name", "api", "--", "300")
			cs := e.Bridge(&mcp.ClientSessionOptions{ProtocolVersion: version})
			if got := cs.InitializeResult(); got != nil && got.ProtocolVersion != version {
				t.Logf("negotiated %s", got.ProtocolVersion)
			}
			ctx := context.Background()
			res, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]*mcp.Tool{}
			for _, tl := range res.Tools {
				byName[tl.Name] = tl
			}
			for _, want := range tools.All {
				i := want.Info()
				tl := byName[i.Name]
				if tl == nil || tl.InputSchema == nil || tl.OutputSchema == nil || tl.Annotations == nil {
					t.Fatalf("tools/list: %s missing or without schemas/annotations: %+v", i.Name, tl)
				}
			}
			// What clients receive has no boolean subschema anywhere (the
			// TypeScript SDK drops every tool of a server over one).
			raw, _ := json.Marshal(res)
			if bad, err := schema.BoolSubschemasIn(raw); err != nil || len(bad) > 0 {
				t.Fatalf("tools/list has boolean subschemas at %v (%v)", bad, err)
			}
			// A misspelt argument is refused, not ignored.
			bad, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "process_list", Arguments: map[string]any{"filtr": "x"}})
			if err != nil || !bad.IsError || !strings.Contains(bad.Content[0].(*mcp.TextContent).Text, `unknown argument "filtr"`) {
				t.Fatalf("unknown argument accepted: %v %+v", err, bad)
			}
			if !byName["process_list"].Annotations.ReadOnlyHint || !*byName["process_stop"].Annotations.DestructiveHint ||
				!*byName["process_delete"].Annotations.DestructiveHint {
				t.Fatal("annotations: list must be read-only; stop and delete destructive")
			}
			call, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "process_list", Arguments: map[string]any{}})
			if err != nil || call.IsError {
				t.Fatalf("process_list: %v %+v", err, call)
			}
			// structuredContent validates against the advertised outputSchema.
			sb, _ := json.Marshal(byName["process_list"].OutputSchema)
			var schema jsonschema.Schema
			if err := json.Unmarshal(sb, &schema); err != nil {
				t.Fatal(err)
			}
			resolved, err := schema.Resolve(nil)
			if err != nil {
				t.Fatal(err)
			}
			var sc any
			b, _ := json.Marshal(call.StructuredContent)
			json.Unmarshal(b, &sc)
			if err := resolved.Validate(sc); err != nil {
				t.Fatalf("structuredContent does not validate: %v", err)
			}
			// The text is the --ai rendering (uptime may tick between the two calls).
			text := call.Content[0].(*mcp.TextContent).Text
			ai := strings.TrimSpace(e.MustRun("list", "--ai"))
			if normalizeUptime(text) != normalizeUptime(ai) {
				t.Fatalf("MCP text != --ai:\n%s\n%s", text, ai)
			}
			if !strings.Contains(text, `"api"`) {
				t.Fatalf("text lacks api: %s", text)
			}
		})
	}
}

func normalizeUptime(s string) string {
	i := strings.Index(s, `"up":"`)
	if i < 0 {
		return s
	}
	j := strings.IndexByte(s[i+6:], '"')
	return s[:i] + s[i+6+j+1:]
}

func TestConcurrentFirstCallsShareOneDaemon(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	results := make(chan testenv.Result, 6)
	for i := 0; i < 6; i++ {
		go func() { results <- e.Run("list") }()
	}
	for i := 0; i < 6; i++ {
		if r := <-results; r.Code != 0 {
			t.Errorf("a first call failed: exit %d: %s", r.Code, r.Stderr)
		}
	}
}

func TestLongHomeIsAClearError(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	long := e.Home + "/" + strings.Repeat("d", 120)
	cmd := exec.Command(e.Bin, "list")
	cmd.Env = append(os.Environ(), "VELOS_HOME="+long)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "use a shorter VELOS_HOME") {
		t.Fatalf("long VELOS_HOME: %v: %s", err, out)
	}
}

func TestDaemonThatCannotStartExits3(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	// The daemon refuses to start when its metrics address cannot be served.
	cmd := exec.Command(e.Bin, "list")
	cmd.Env = append(os.Environ(), "VELOS_HOME="+e.Home, "VELOS_METRICS_ADDR=256.0.0.1:1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(out), "could not start the daemon") {
		t.Fatalf("exit %v, output %q; want exit 3 and the reason", err, out)
	}
	t.Logf("%s", out)
}

func TestDaemonStopsWhenItsHomeIsRemoved(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "orphan-to-be", "--", "300")
	p := list(t, e)[0]
	b, _ := os.ReadFile(e.Home + "/daemon.pid")
	dpid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := os.RemoveAll(e.Home); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "daemon and child gone", 10*time.Second, func() bool { return !alive(dpid) && !alive(p.PID) })
}
