//go:build linux && faults

package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

// A child stopped with SIGSTOP sends no more WATCHDOG=1: with watchdog =
// "1s" it is restarted, cause watchdog, and the stopped one is gone (the
// stop signal is followed by SIGCONT, so it can act on it).
func TestWatchdogRestartsStoppedChild(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.MustRun("start", testenv.TestApp(t), "--name", "wd", "--watchdog", "1s", "--", "-beat-for", "1h")
	p := find(e.list(), "wd")
	if err := syscall.Kill(p.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	var d tools.DescribeOut
	waitFor(t, "a restart by the watchdog", 20*time.Second, func() bool {
		if err := json.Unmarshal([]byte(e.MustRun("describe", "wd", "--json")), &d); err != nil {
			t.Fatal(err)
		}
		h := d.Processes[0].History
		return len(h) > 0 && d.Processes[0].Status == "online"
	})
	got := d.Processes[0]
	if cause := got.History[0].Cause; !strings.HasPrefix(cause, "watchdog") {
		t.Fatalf("restarted with cause %q, want watchdog", cause)
	}
	if got.PID == p.PID || alive(p.PID) {
		t.Fatalf("after the watchdog: pid %d (was %d, alive %v)", got.PID, p.PID, alive(p.PID))
	}
	t.Logf("SIGSTOP → restart (%s) in %v", got.History[0].Cause, time.Since(stopped).Round(10*time.Millisecond))
	e.healthy()
}

// A shell that forks 200 sleepers: after velos stop, none is left.
func TestForkBombGoneAfterStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.MustRun("start", "sh", "--name", "bomb", "--", "-c", "for i in $(seq 200); do sleep 1000 & done; wait")
	count := func() int {
		n := 0
		for _, p := range e.procs() {
			if p.name == "bomb" {
				n++
			}
		}
		return n
	}
	waitFor(t, "the shell and its 200 sleepers", 30*time.Second, func() bool { return count() == 201 })
	e.MustRun("stop", "bomb")
	if n := count(); n != 0 {
		t.Fatalf("%d processes of the fork bomb outlived velos stop", n)
	}
	e.healthy()
}

// daemonFDs counts the daemon's open file descriptors.
func (e *env) daemonFDs() int {
	e.t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(e.daemonPID()) + "/fd")
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ents)
}

// 500 processes started, stopped, started again and deleted through one
// MCP session, twice: every one runs once, none is left, and the daemon's
// file descriptors come back to where they were.
func TestFiveHundredProcesses(t *testing.T) {
	e := newEnv(t)
	cs := e.Connect(nil)
	call := func(name string, args map[string]any) {
		t.Helper()
		res, err := cs.CallTool(ctx(t), &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil || res.IsError {
			t.Fatalf("%s %v: %v %v", name, args, err, res)
		}
	}
	const n = 500
	before := e.daemonFDs()
	for round := 1; round <= 2; round++ {
		start := time.Now()
		for i := range n {
			call("process_start", map[string]any{"script": "sleep", "args": []string{"1000"}, "name": fmt.Sprintf("p%03d", i)})
		}
		started := time.Since(start)
		check := func(what string) {
			t.Helper()
			ps := e.healthy()
			copies := e.copies()
			if len(ps) != n || len(copies) != n {
				t.Fatalf("round %d, %s: %d listed, %d running", round, what, len(ps), len(copies))
			}
			for _, p := range ps {
				if p.Status != "online" {
					t.Fatalf("round %d, %s: %+v", round, what, p)
				}
			}
		}
		check("started")
		call("process_stop", map[string]any{"target": "all"})
		if c := e.copies(); len(c) != 0 {
			t.Fatalf("round %d: stop all left %d running", round, len(c))
		}
		call("process_restart", map[string]any{"target": "all"})
		check("restarted")
		call("process_delete", map[string]any{"target": "all"})
		if c := e.copies(); len(c) != 0 || len(e.list()) != 0 {
			t.Fatalf("round %d: delete all left %d running", round, len(c))
		}
		t.Logf("round %d: 500 started in %v, all cycled in %v; daemon fds %d (before %d)", round, started.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), e.daemonFDs(), before)
	}
	if after := e.daemonFDs(); after > before+4 {
		t.Fatalf("the daemon holds %d file descriptors after 2000 runs, %d before", after, before)
	}
}
