//go:build linux

package faults

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/velos-pm/velos/core/state"
	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

// env is one VELOS_HOME with its daemon. Its cleanup kills every process
// still carrying the home in its environment (the orphans a killed daemon
// leaves), then stops the daemon and removes the home.
type env struct {
	*testenv.Env
	t *testing.T
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{Env: testenv.New(t), t: t}
	t.Cleanup(e.reap)
	return e
}

// list is `velos list --json`.
func (e *env) list() []tools.ProcessInfo {
	e.t.Helper()
	var out tools.ProcessesOut
	if err := json.Unmarshal([]byte(e.MustRun("list", "--json")), &out); err != nil {
		e.t.Fatal(err)
	}
	return out.Processes
}

// proc is a process of this home found in /proc.
type proc struct {
	pid, pgid int
	name      string // VELOS_NAME; "" for the daemon itself
}

// procs scans /proc for the live (not zombie) processes whose environment
// holds this VELOS_HOME: the daemon, its children and theirs.
func (e *env) procs() []proc {
	ents, _ := os.ReadDir("/proc")
	want := []byte("VELOS_HOME=" + e.Home + "\x00")
	var out []proc
	for _, de := range ents {
		pid, err := strconv.Atoi(de.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		envb, err := os.ReadFile("/proc/" + de.Name() + "/environ")
		if err != nil || !containsVar(envb, want) {
			continue
		}
		st, err := os.ReadFile("/proc/" + de.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+2:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		pgid, _ := strconv.Atoi(f[2])
		p := proc{pid: pid, pgid: pgid}
		for _, kv := range strings.Split(string(envb), "\x00") {
			if v, ok := strings.CutPrefix(kv, "VELOS_NAME="); ok {
				p.name = v
			}
		}
		out = append(out, p)
	}
	return out
}

func containsVar(environ, kv []byte) bool {
	return strings.HasPrefix(string(environ), string(kv)) || strings.Contains(string(environ), "\x00"+string(kv))
}

// copies counts, per process name, the running copies: process group
// leaders (every run of a process leads its own group), whether the daemon
// knows them or not.
func (e *env) copies() map[string][]int {
	out := map[string][]int{}
	for _, p := range e.procs() {
		if p.name != "" && p.pid == p.pgid {
			out[p.name] = append(out[p.name], p.pid)
		}
	}
	return out
}

// reap kills the process groups of everything still carrying this home.
func (e *env) reap() {
	for _, p := range e.procs() {
		if p.name != "" {
			_ = syscall.Kill(-p.pgid, syscall.SIGKILL)
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
}

// healthy checks what every fault case must end with: the daemon answers
// velos list, the state file (if any) loads, no name is listed twice and no
// listed process runs twice. It returns the list.
func (e *env) healthy() []tools.ProcessInfo {
	e.t.Helper()
	ps := e.list()
	e.stateValid()
	seen := map[string]bool{}
	copies := e.copies()
	for _, p := range ps {
		if seen[p.Name] {
			e.t.Fatalf("%s listed twice: %+v", p.Name, ps)
		}
		seen[p.Name] = true
		if n := len(copies[p.Name]); n > 1 {
			e.t.Fatalf("%s runs %d times (pids %v)", p.Name, n, copies[p.Name])
		}
		if p.Status == "online" && !sameInts(copies[p.Name], []int{p.PID}) {
			e.t.Fatalf("%s is online as pid %d, the system runs %v", p.Name, p.PID, copies[p.Name])
		}
	}
	return ps
}

// stateValid fails unless the saved state, when there is one, loads.
func (e *env) stateValid() {
	e.t.Helper()
	path := state.Path(e.Home)
	if _, err := state.Load(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		b, _ := os.ReadFile(path)
		e.t.Fatalf("state file invalid: %v\n%s", err, b)
	}
	// A save killed mid-way leaves its temporary file; the next daemon
	// removes it, and no save runs while a case ends.
	if tmps, _ := filepath.Glob(filepath.Join(e.Home, ".dump.toml.*.tmp")); len(tmps) > 0 {
		e.t.Fatalf("temporary files of interrupted saves left behind: %v", tmps)
	}
}

// tailDaemonLog is the end of daemon.log, for failure messages.
func (e *env) tailDaemonLog(n int) string {
	b, _ := os.ReadFile(filepath.Join(e.Home, "daemon.log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// dumpStacks asks the daemon for its goroutines (SIGQUIT; the trace lands in
// daemon.log) and returns the log's end: what a deadlock looks like.
func (e *env) dumpStacks() string {
	if b, err := os.ReadFile(filepath.Join(e.Home, "daemon.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			_ = syscall.Kill(pid, syscall.SIGQUIT)
			time.Sleep(500 * time.Millisecond) // the runtime writes the trace, then exits
		}
	}
	return e.tailDaemonLog(400)
}

func sameInts(a, b []int) bool {
	a, b = append([]int(nil), a...), append([]int(nil), b...)
	sort.Ints(a)
	sort.Ints(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
