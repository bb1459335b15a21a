//go:build linux && faults

package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// numbered prints "seq N" every 10 ms, counting from 1.
const numbered = `i=0; while :; do i=$((i+1)); echo "seq $i"; sleep 0.01; done`

// spooled counts the lines the keeper has spooled, per spool file.
func (e *env) spooled() []int {
	m, _ := filepath.Glob(filepath.Join(e.Home, "run", "spool", "*out.spool"))
	var out []int
	for _, f := range m {
		b, _ := os.ReadFile(f)
		out = append(out, bytes.Count(b, []byte("\n")))
	}
	return out
}

// After kill -9 of the daemon, three apps printing a numbered line every
// 10 ms run on (no EPIPE, no block: the keeper spools their output); the
// next velos list adopts them — same pids, online, none twice; each log
// holds 1..N without gap or repeat; resurrect starts nothing; restart and
// stop work.
func TestAdoptAfterKill(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	apps := []string{"n1", "n2", "n3"}
	for _, n := range apps {
		e.MustRun("start", "sh", "--name", n, "--", "-c", numbered)
	}
	e.MustRun("save")
	pids := map[string]int{}
	for _, p := range e.list() {
		pids[p.Name] = p.PID
	}
	e.killDaemon()
	waitFor(t, "the keeper to spool 20 lines of each app", 10*time.Second, func() bool {
		n := e.spooled()
		return len(n) == 3 && min(n[0], n[1], n[2]) >= 20
	})

	ps := e.healthy() // the next daemon
	for _, n := range apps {
		p := find(ps, n)
		if p == nil || p.PID != pids[n] || p.Status != "online" || p.Restarts != 0 {
			t.Fatalf("%s (pid %d) not adopted as it ran: %+v", n, pids[n], p)
		}
	}
	out := e.MustRun("resurrect")
	if c := e.copies(); len(c) != 3 {
		t.Fatalf("after resurrect %v run (%s)", c, out)
	}
	e.healthy()
	// The adopted apps log on: wait for lines printed after the adoption.
	logLines := func(n string) int {
		b, _ := os.ReadFile(filepath.Join(e.Home, "logs", n+"-out.log"))
		return bytes.Count(b, []byte("\n"))
	}
	at := map[string]int{}
	for _, n := range apps {
		at[n] = logLines(n)
	}
	waitFor(t, "more lines from the adopted apps", 10*time.Second, func() bool {
		for _, n := range apps {
			if logLines(n) < at[n]+20 {
				return false
			}
		}
		return true
	})
	// An adopted app restarts as any other: a new pid, counting from 1.
	e.MustRun("restart", "n1")
	if p := find(e.healthy(), "n1"); p == nil || p.PID == pids["n1"] || p.Status != "online" || alive(pids["n1"]) {
		t.Fatalf("restart of the adopted n1 (pid %d): %+v", pids["n1"], p)
	}
	e.MustRun("stop", "all")
	if c := e.copies(); len(c) != 0 {
		t.Fatalf("stop all left %v", c)
	}
	for _, n := range apps {
		recs, _ := readLogs(t, filepath.Join(e.Home, "logs"), n, false)
		runs := seqRuns(t, recs) // fails on a gap or a repeat
		want := 1
		if n == "n1" {
			want = 2 // and its restart
		}
		if len(runs) != want || runs[0][0] != 1 {
			t.Fatalf("%s: numbered runs %v, want %d from 1", n, runs, want)
		}
		t.Logf("%s: lines 1-%d, across the kill", n, runs[0][1])
	}
	if n := e.countDaemonLog(`msg="process adopted"`); n != 3 {
		t.Fatalf("%d adoptions in daemon.log, want 3", n)
	}
}

// An app that exits while no daemon watches: the next daemon stores what it
// printed during the gap, counts the exit as a crash of unknown status
// (it was not that daemon's child) and applies the restart policy.
func TestDiedDuringTheGap(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	script := `echo "run"; while [ ! -e ` + dir + `/go ]; do sleep 0.02; done; echo "printed in the gap"; exit 3`
	e.MustRun("start", "sh", "--name", "brief", "--", "-c", script)
	pid := find(e.list(), "brief").PID
	e.killDaemon()
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the app to exit", 10*time.Second, func() bool { return !alive(pid) })
	os.Remove(filepath.Join(dir, "go")) // its next run waits
	p := find(e.healthy(), "brief")
	if p == nil || p.PID == pid || p.Restarts != 1 || p.Status != "online" {
		t.Fatalf("not restarted by policy: %+v", p)
	}
	var d struct {
		Processes []struct {
			LastExit struct {
				Reason string `json:"reason"`
			} `json:"last_exit"`
		} `json:"processes"`
	}
	desc := e.MustRun("describe", "brief", "--json")
	if err := json.Unmarshal([]byte(desc), &d); err != nil || len(d.Processes) != 1 || !strings.Contains(d.Processes[0].LastExit.Reason, "unknown") {
		t.Fatalf("last exit of a run that ended unseen: %v %s", err, desc)
	}
	waitFor(t, "the gap's line in the log", 10*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(e.Home, "logs", "brief-out.log"))
		return bytes.Count(b, []byte("printed in the gap\n")) == 1 && bytes.Count(b, []byte("run\n")) == 2
	})
}

// An MCP client on velos mcp-server keeps its session across a kill -9 of
// the daemon: the bridge starts the next one, which adopts the process.
func TestBridgeAcrossKill(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.MustRun("start", "sh", "--name", "b1", "--", "-c", numbered)
	pid := find(e.list(), "b1").PID
	bridge := e.Bridge(nil)
	e.killDaemon()
	res, err := bridge.CallTool(ctx(t), &mcp.CallToolParams{Name: "process_list", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("process_list over velos mcp-server after the kill: %v %v\n%s", err, res, e.tailDaemonLog(30))
	}
	if p := find(e.healthy(), "b1"); p == nil || p.PID != pid {
		t.Fatalf("not adopted: %+v", p)
	}
}

// keeperPID is the pid of this home's keeper, 0 if none runs.
func (e *env) keeperPID() int {
	for _, p := range e.procs() {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.pid))
		if p.name == "" && bytes.HasSuffix(b, []byte("\x00keeper\x00")) {
			return p.pid
		}
	}
	return 0
}

// The keeper killed while the daemon runs: the daemon starts another and
// gives it every pipe again, so a daemon kill after that still loses no
// app and no line.
func TestKeeperKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.MustRun("start", "sh", "--name", "k1", "--", "-c", numbered)
	pid := find(e.list(), "k1").PID
	first := e.keeperPID()
	if first == 0 {
		t.Fatal("no keeper runs")
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitDaemonLog(`keeper gone`, 10*time.Second)
	waitFor(t, "a new keeper", 10*time.Second, func() bool { k := e.keeperPID(); return k != 0 && k != first })
	e.waitDaemonLog(`the new keeper holds every pipe again`, 10*time.Second)
	e.killDaemon()
	waitFor(t, "the new keeper to spool", 10*time.Second, func() bool {
		n := e.spooled()
		return len(n) == 1 && n[0] >= 10
	})
	if p := find(e.healthy(), "k1"); p == nil || p.PID != pid || p.Status != "online" {
		t.Fatalf("not adopted after the keeper's death and the daemon's: %+v", p)
	}
	e.MustRun("stop", "k1")
	recs, _ := readLogs(t, filepath.Join(e.Home, "logs"), "k1", false)
	if runs := seqRuns(t, recs); len(runs) != 1 || runs[0][0] != 1 {
		t.Fatalf("numbered runs %v, want one from 1", runs)
	}
}
