//go:build linux && faults

package faults

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/state"
	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

// background starts `velos args…` without waiting for it.
func (e *env) background(args ...string) (*exec.Cmd, *bytes.Buffer) {
	e.t.Helper()
	cmd := exec.Command(e.Bin, args...)
	cmd.Env = append(os.Environ(), "VELOS_HOME="+e.Home, "NO_COLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	return cmd, &out
}

func find(ps []tools.ProcessInfo, name string) *tools.ProcessInfo {
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i]
		}
	}
	return nil
}

// The daemon is killed while `velos start velos.toml` starts 20 processes,
// right after the first has started (while it waits for it to be ready).
func TestKillDaemonMidStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Each waits to be ready (sleep never says so): the start is sure to be
	// under way, however fast the daemon, when it is killed.
	cfg := project(t, names("s", 20), "wait_ready = true\nlisten_timeout = \"30s\"")
	e.MustRun("list")
	cli, out := e.background("start", cfg)
	e.waitDaemonLog(`msg="process started"`, 30*time.Second)
	e.killDaemon()
	if err := cli.Wait(); err == nil {
		t.Fatalf("velos start succeeded although its daemon was killed:\n%s", out)
	}
	t.Logf("velos start, its daemon killed: %s", strings.TrimSpace(out.String()))
	left := e.copies()
	if len(left) == 0 {
		t.Fatal("no process had started when the daemon was killed")
	}

	ps := e.healthy() // a new daemon, answering
	t.Logf("%d of 20 had started; they run on, and the new daemon lists %d processes", len(left), len(ps))

	expectAdoption(t, func(t *testing.T) {
		ps := e.list()
		for name, pids := range left {
			// Adopted as it was: started, still waiting for its READY=1.
			if p := find(ps, name); p == nil || p.Status != "launching" || p.PID != pids[0] {
				t.Errorf("%s (pid %d) not adopted: %+v", name, pids[0], p)
			}
		}
		// Starting the file again starts nothing: its processes exist
		// (all or none, as always), and the adopted ones do not run twice.
		res := e.Run("start", cfg)
		if res.Code == 0 || !strings.Contains(res.Stderr, "already exists") {
			t.Errorf("velos start of a file whose processes were adopted: exit %d\n%s", res.Code, res.Stderr)
		}
		e.healthy()
		e.MustRun("stop", "all")
		if c := e.copies(); len(c) != 0 {
			t.Fatalf("stop all left %v", c)
		}
	})
}

// The daemon is killed while `velos stop` waits for a program that takes a
// second to end after SIGTERM.
func TestKillDaemonMidStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	script := fmt.Sprintf(`trap 'touch %[1]s/term; sleep 1; exit 0' TERM; touch %[1]s/up; while :; do sleep 0.05; done`, dir)
	e.MustRun("start", "sh", "--name", "slow", "--kill-timeout", "10s", "--", "-c", script)
	waitFor(t, "the program to run", 10*time.Second, func() bool { _, err := os.Stat(filepath.Join(dir, "up")); return err == nil })
	pid := find(e.list(), "slow").PID
	cli, out := e.background("stop", "slow")
	waitFor(t, "the program to get SIGTERM", 10*time.Second, func() bool { _, err := os.Stat(filepath.Join(dir, "term")); return err == nil })
	e.killDaemon()
	// The CLI sends a stop (idempotent) again to the next daemon, which
	// adopts the process being stopped and finishes the stop: then it
	// succeeds. Without adoption that daemon does not know the process.
	if err := cli.Wait(); err == nil && !adoptionLanded {
		t.Fatalf("velos stop succeeded although its daemon was killed:\n%s", out)
	}
	t.Logf("velos stop, its daemon killed: %s", strings.TrimSpace(out.String()))
	// The stop goes on without the daemon: the program ends by itself.
	waitFor(t, "the stopping program to end", 10*time.Second, func() bool { return !alive(pid) })
	e.healthy()
	if c := e.copies(); len(c) != 0 {
		t.Fatalf("left running: %v", c)
	}
	expectAdoption(t, func(t *testing.T) {
		if p := find(e.list(), "slow"); p == nil || p.Status != "stopped" {
			t.Fatalf("the new daemon does not know the stopped process: %+v", p)
		}
	})
}

// The daemon is killed while two MCP clients save the process list in a
// loop, three times; each time the state file must be the old or the new
// list, whole, and resurrect must bring back every process.
func TestKillDaemonMidSave(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 30
	e.MustRun("start", project(t, names("w", n), ""))
	for round := 1; round <= 3; round++ {
		cs := e.Connect(nil)
		var saves atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					res, err := cs.CallTool(ctx(t), &mcp.CallToolParams{Name: "state_save", Arguments: map[string]any{}})
					if err != nil {
						return // the daemon is gone
					}
					if res.IsError {
						t.Errorf("state_save: %v", res.Content)
						return
					}
					saves.Add(1)
				}
			}()
		}
		waitFor(t, "saves", 30*time.Second, func() bool { return saves.Load() >= 10*int64(round) })
		e.killDaemon()
		close(stop)
		wg.Wait()
		d, err := state.Load(state.Path(e.Home))
		if err != nil || len(d.Processes) != n {
			t.Fatalf("round %d, after %d saves: state file %v, %d processes", round, saves.Load(), err, len(d.Processes))
		}
		if !adoptionLanded {
			// The processes would run on unknown to the next daemon, and
			// resurrect would start them twice: they go first.
			e.reap()
		}
		e.MustRun("resurrect") // adopted: it starts nothing
		if c := e.copies(); len(c) != n {
			t.Fatalf("round %d: %d names run, want %d", round, len(c), n)
		}
		ps := e.healthy()
		if len(ps) != n {
			t.Fatalf("round %d: resurrect brought back %d of %d", round, len(ps), n)
		}
		for _, p := range ps {
			if p.Status != "online" {
				t.Fatalf("round %d: %+v", round, p)
			}
		}
		t.Logf("round %d: killed after %d saves; the state file held all %d processes", round, saves.Load(), n)
	}
	expectAdoption(t, func(t *testing.T) {
		e.killDaemon()
		e.MustRun("resurrect") // must start nothing twice
		if ps := e.healthy(); len(ps) != n {
			t.Fatalf("%d processes after resurrect, want %d", len(ps), n)
		}
	})
}

// The daemon is killed while a program writes 2000 lines/s into logs
// rotated every 16 KiB (plain, then gzipped): every file keeps whole
// records, numbered without gap or repeat up to the kill, and a new run
// appends to the same files cleanly.
func TestKillDaemonMidRotation(t *testing.T) {
	t.Parallel()
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			args := []string{"start", testenv.TestApp(t), "--name", "chat", "--log-max-size", "16K", "--log-keep", "3"}
			if gz {
				args = append(args, "--log-gzip")
			}
			args = append(args, "--", "-chatty", "2000", "-line-bytes", "100")
			e.MustRun(args...)
			dir := filepath.Join(e.Home, "logs")
			// rotated reports whether the file of rotation seq, or of a
			// later one, exists (what the adopted program printed during the
			// gap comes in one burst of rotations, the oldest pruned at once).
			lastRotation := func() int {
				m, _ := filepath.Glob(filepath.Join(dir, "chat-out.*.log*"))
				last := 0
				for _, f := range m {
					var n int
					if _, err := fmt.Sscanf(filepath.Base(f), "chat-out.%06d.log", &n); err == nil {
						last = max(last, n)
					}
				}
				return last
			}
			rotated := func(seq int) bool { return lastRotation() >= seq }
			waitFor(t, "four rotations", 30*time.Second, func() bool { return rotated(4) })
			pid := find(e.list(), "chat").PID
			e.killDaemon()

			recs, torn := readLogs(t, dir, "chat", true)
			runs := seqRuns(t, recs)
			if len(runs) != 1 {
				t.Fatalf("one run of the program, numbered %v", runs)
			}
			t.Logf("at the kill: lines %d-%d kept in %d records, torn tail: %v", runs[0][0], runs[0][1], len(recs), torn > 0)
			if !adoptionLanded {
				// Its stdout has no reader any more: its next write kills it.
				waitFor(t, "the program to die of its broken pipe", 10*time.Second, func() bool { return !alive(pid) })
				// A new daemon runs it again into the same files.
				e.MustRun(args...)
			} else if p := find(e.list(), "chat"); p == nil || p.PID != pid || p.Status != "online" {
				// A new daemon adopts it; it writes on into the same files.
				t.Fatalf("not adopted (pid %d): %+v", pid, p)
			}
			last := lastRotation()
			deadline := time.Now().Add(30 * time.Second)
			for !rotated(last + 2) {
				if time.Now().After(deadline) {
					ls, _ := exec.Command("ls", "-l", dir).CombinedOutput()
					t.Fatalf("no rotation %d after %d within 30s\n%s\n%s\n%s", last+2, last, ls, e.MustRun("list"), e.tailDaemonLog(20))
				}
				time.Sleep(20 * time.Millisecond)
			}
			e.MustRun("stop", "chat")
			recs, _ = readLogs(t, dir, "chat", false)
			runs = seqRuns(t, recs)
			if adoptionLanded && len(runs) != 1 {
				t.Fatalf("the adopted program's lines, across the kill: %v", runs)
			}
			if len(runs) > 2 || runs[len(runs)-1][0] != 1 && len(runs) == 2 {
				t.Fatalf("runs after the restart: %v", runs)
			}
			t.Logf("after adoption (or a second run): %v", runs)
			e.healthy()
		})
	}
}
