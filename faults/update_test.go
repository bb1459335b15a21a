//go:build linux && faults

package faults

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/internal/testenv"
)

// installCopy puts velos and velosd in a folder of the test's own, so that
// it can replace velosd there as an upgrade would.
func installCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, b := range []string{testenv.Velos(t), testenv.Velosd(t)} {
		copyExe(t, b, filepath.Join(dir, filepath.Base(b)))
	}
	return dir
}

func copyExe(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to+".new", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
	if err := os.Rename(to+".new", to); err != nil { // as installers do: the running binary is not written to
		t.Fatal(err)
	}
}

// rawBridge is `velos mcp-server` spoken to line by line: what an MCP
// client writes on its stdin, and every line it answers, as they come.
type rawBridge struct {
	in    io.Writer
	lines chan string
}

func (e *env) rawBridge(t *testing.T) *rawBridge {
	t.Helper()
	cmd := exec.Command(e.Bin, "mcp-server")
	cmd.Env = append(os.Environ(), "VELOS_HOME="+e.Home)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); _ = cmd.Wait() })
	b := &rawBridge{in: in, lines: make(chan string, 1024)}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			select {
			case b.lines <- sc.Text():
			default: // a flood of notifications nobody waits for
			}
		}
		close(b.lines)
	}()
	return b
}

// call sends a request and returns its answer.
func (b *rawBridge) call(t *testing.T, id int, method, params string) string {
	t.Helper()
	fmt.Fprintf(b.in, `{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`+"\n", id, method, params)
	return b.await(t, fmt.Sprintf(`"id":%d,`, id))
}

// await returns the next line holding what, skipping others.
func (b *rawBridge) await(t *testing.T, what string) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-b.lines:
			if !ok {
				t.Fatalf("velos mcp-server ended before %s", what)
			}
			if strings.Contains(l, what) {
				return l
			}
		case <-deadline:
			t.Fatalf("no %s from velos mcp-server within 30s", what)
		}
	}
}

// drain forgets what came so far.
func (b *rawBridge) drain() {
	for {
		select {
		case <-b.lines:
		default:
			return
		}
	}
}

// buildVelosd builds velosd with ldflags and installs it at path.
func buildVelosd(t *testing.T, path, ldflags string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", path+".build", "./cmd/velosd")
	cmd.Dir = testenv.Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build velosd %s: %v\n%s", ldflags, err, out)
	}
	if err := os.Rename(path+".build", path); err != nil {
		t.Fatal(err)
	}
}

// velos update with three apps printing a numbered line every 10 ms: the
// daemon keeps its pid and so do the apps, each log runs 1..N without gap
// or repeat; SIGHUP does the same; a binary that does not run is refused
// and one that fails to start falls back to the one before.
func TestUpdateInPlace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := installCopy(t)
	e.Bin = filepath.Join(dir, "velos")
	t.Cleanup(func() { // while dir is there
		e.Run("kill")
		e.Bin = testenv.Velos(t)
	})
	apps := []string{"u1", "u2", "u3"}
	for _, n := range apps {
		e.MustRun("start", "sh", "--name", n, "--", "-c", numbered)
	}
	daemon := e.daemonPID()
	pids := map[string]int{}
	for _, p := range e.list() {
		pids[p.Name] = p.PID
	}
	logLines := func(n string) int {
		b, _ := os.ReadFile(filepath.Join(e.Home, "logs", n+"-out.log"))
		return strings.Count(string(b), "\n")
	}
	// same checks the apps and the daemon are the ones from the start, and
	// their logs still grow.
	same := func(when string) {
		t.Helper()
		ps := e.healthy()
		for _, n := range apps {
			if p := find(ps, n); p == nil || p.PID != pids[n] || p.Status != "online" || p.Restarts != 0 {
				t.Fatalf("%s: %s not handed over: %+v", when, n, p)
			}
		}
		if d := e.daemonPID(); d != daemon {
			t.Fatalf("%s: daemon pid %d, was %d", when, d, daemon)
		}
		at := logLines("u1")
		waitFor(t, when+": more lines", 10*time.Second, func() bool { return logLines("u1") >= at+10 })
	}

	// An MCP client on the stdio bridge keeps its session across updates.
	bridge := e.Bridge(nil)
	listed := func(when string) {
		t.Helper()
		res, err := bridge.CallTool(ctx(t), &mcp.CallToolParams{Name: "process_list", Arguments: map[string]any{}})
		if err != nil || res.IsError {
			t.Fatalf("%s: process_list over velos mcp-server: %v %v", when, err, res)
		}
	}
	listed("before")
	// A client subscribed to a log through the bridge is notified after
	// updates too: the bridge subscribes again for it.
	sub := e.rawBridge(t)
	sub.call(t, 1, "initialize", `{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}`)
	fmt.Fprintln(sub.in, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if r := sub.call(t, 2, "resources/subscribe", `{"uri":"velos://logs/u1"}`); strings.Contains(r, `"error"`) {
		t.Fatalf("subscribe: %s", r)
	}
	sub.await(t, `"velos://logs/u1"`)
	notified := func(when string) {
		t.Helper()
		sub.drain()
		if l := sub.await(t, "notifications/resources/updated"); !strings.Contains(l, "velos://logs/u1") {
			t.Fatalf("%s: %s", when, l)
		}
	}

	// Prometheus and MCP over HTTP, served before the update, are served
	// on the same addresses after it.
	urls := map[string]string{}
	served := func(when string) {
		t.Helper()
		for _, args := range [][]string{{"metrics", "serve", "--port", "0"}, {"mcp", "http", "--address", "127.0.0.1:0"}} {
			var out struct {
				URL     string `json:"url"`
				Already bool   `json:"already"`
			}
			if err := json.Unmarshal([]byte(e.MustRun(append(args, "--json")...)), &out); err != nil {
				t.Fatalf("%s: %s: %v", when, args[0], err)
			}
			if was := urls[args[0]]; was == "" {
				urls[args[0]] = out.URL
			} else if out.URL != was || !out.Already {
				t.Fatalf("%s: %s serves %s (already %v), was %s", when, args[0], out.URL, out.Already, was)
			}
		}
		resp, err := http.Get(urls["metrics"])
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: GET %s: %v %v", when, urls["metrics"], err, resp)
		}
		resp.Body.Close()
	}
	served("before")

	buildVelosd(t, filepath.Join(dir, "velosd"), "-X main.version=v2")
	out := e.MustRun("update")
	if !strings.Contains(out, "v2") {
		t.Fatalf("velos update said:\n%s", out)
	}
	same("after velos update")
	served("after velos update")
	listed("after velos update")
	notified("after velos update")
	if e.countDaemonLog(`msg="updated in place" version=v2 fell_back=false`) != 1 {
		t.Fatalf("the new binary does not run:\n%s", e.tailDaemonLog(20))
	}

	os.Remove(filepath.Join(e.Home, "run", "update.json"))
	if err := syscall.Kill(daemon, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the daemon re-executed by SIGHUP", 30*time.Second, func() bool {
		return e.countDaemonLog(`msg="updated in place" version=v2`) == 2
	})
	same("after SIGHUP")
	served("after SIGHUP")

	// A binary that does not even say its version: refused, nothing moves.
	script := filepath.Join(dir, "velosd.script")
	os.WriteFile(script, []byte("#!/bin/sh\necho 'cannot start' >&2\nexit 1\n"), 0o755)
	os.Rename(script, filepath.Join(dir, "velosd"))
	if r := e.Run("update"); r.Code == 0 || !strings.Contains(r.Stderr, "-version") || !strings.Contains(r.Stderr, "cannot start") {
		t.Fatalf("update to a broken binary: exit %d\n%s", r.Code, r.Stderr)
	}
	same("after a refused update")

	// A binary that starts but cannot read this daemon's runtime file (a
	// format of the future): it gives way to the one before.
	buildVelosd(t, filepath.Join(dir, "velosd"), "-X main.version=v3 -X main.runtimeFormat=99")
	if r := e.Run("update"); r.Code == 0 || !strings.Contains(r.Stderr, "did not start") || !strings.Contains(r.Stderr, "v2") {
		t.Fatalf("update to a binary that fails to start: exit %d\n%s\n%s", r.Code, r.Stderr, e.tailDaemonLog(20))
	}
	same("after a fallback")
	listed("after a fallback")
	if e.countDaemonLog(`msg="updated in place" version=v2 fell_back=true`) != 1 {
		t.Fatalf("no fallback to v2:\n%s", e.tailDaemonLog(20))
	}

	e.MustRun("stop", "all")
	// The apps are the re-executed daemon's own children: their exit
	// status is known.
	desc := e.MustRun("describe", "u1", "--json")
	if !strings.Contains(desc, `"signal": "SIGTERM"`) {
		t.Fatalf("u1 stopped after the updates, exit not known:\n%s", desc)
	}
	for _, n := range apps {
		recs, _ := readLogs(t, filepath.Join(e.Home, "logs"), n, false)
		runs := seqRuns(t, recs) // fails on a gap or a repeat
		if len(runs) != 1 || runs[0][0] != 1 {
			t.Fatalf("%s: numbered runs %v, want one from 1", n, runs)
		}
		t.Logf("%s: lines 1-%d across three re-executions", n, runs[0][1])
	}
}
