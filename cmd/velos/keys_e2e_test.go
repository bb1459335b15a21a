package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/internal/testenv"
)

// keyProofs names, for every per-process key, the end-to-end test that shows
// it doing what it says. A key accepted and ignored is worse than a missing
// one: TestEveryKeyTakesEffect fails on a key with no proof here, and on a
// proof that names no test.
var keyProofs = map[string]string{
	"script": "TestAnyProgram", "args": "TestAnyProgram", "interpreter": "TestAnyProgram",
	"cwd":              "TestKeysCwdInterpreterArgsAutorestart",
	"interpreter_args": "TestKeysCwdInterpreterArgsAutorestart",
	"autorestart":      "TestKeysCwdInterpreterArgsAutorestart",
	"instances":        "TestClusterSharedSocket", "mode": "TestKeysMode",
	"env": "TestSpecExampleStartsWithProfile", "env_file": "TestStartOnlyAndEnvFromFile",
	"restart_delay": "TestKeysRestartPolicy", "max_restart_delay": "TestKeysRestartPolicy",
	"restart_factor": "TestKeysRestartPolicy", "min_uptime": "TestKeysRestartPolicy",
	"max_restarts": "TestKeysRestartPolicy", "restart_window": "TestKeysRestartPolicy",
	"kill_timeout": "TestKeysKillSignalAndTimeout", "kill_signal": "TestKeysKillSignalAndTimeout",
	"max_memory": "TestMaxMemoryRestartsAGrowingProcess", "cron_restart": "TestCronRestart",
	"listen": "TestClusterBalancer", "balance": "TestClusterBalancer",
	"wait_ready": "TestReadinessSdNotify", "listen_timeout": "TestReadinessSdNotify", "watchdog": "TestReadinessSdNotify",
	"ready_tcp": "TestReadinessProbes", "ready_http": "TestReadinessProbes",
	"watch": "TestWatch", "watch_ignore": "TestWatch", "watch_debounce": "TestKeysWatchPaths", "watch_paths": "TestKeysWatchPaths",
	"log_max_size": "TestKeysLogRotation", "log_keep": "TestKeysLogRotation", "log_gzip": "TestKeysLogRotation",
	"user": "TestUserAndGroup", "group": "TestUserAndGroup",
}

func TestEveryKeyTakesEffect(t *testing.T) {
	tests := map[string]bool{}
	fset := token.NewFileSet()
	files, _ := filepath.Glob("*_test.go")
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") {
				tests[fn.Name.Name] = true
			}
		}
	}
	for _, k := range config.Keys() {
		proof, ok := keyProofs[k.Name]
		switch {
		case !ok:
			t.Errorf("key %s: no end-to-end test shows it taking effect (add one to keyProofs)", k.Name)
		case !tests[proof]:
			t.Errorf("key %s: its proof %s is not a test of this package", k.Name, proof)
		}
	}
}

// TestKeysCwdInterpreterArgsAutorestart: the program runs in cwd, its
// interpreter gets interpreter_args, and autorestart on-failure leaves a
// clean exit stopped.
func TestKeysCwdInterpreterArgsAutorestart(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := project(t, map[string]string{"where.sh": "pwd > \"$1\"; echo \"$-\" >> \"$1\"; exec sleep 300\n"})
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	out := filepath.Join(dir, "out")
	e.MustRunIn(dir, "start", "where.sh", "--cwd", "sub", "--interpreter", "sh", "--interpreter-args=-x", "--", out)
	waitFor(t, "the program's report", 10*time.Second, func() bool {
		b, _ := os.ReadFile(out)
		return strings.Count(string(b), "\n") >= 2
	})
	b, _ := os.ReadFile(out)
	if lines := strings.Split(string(b), "\n"); lines[0] != sub || !strings.Contains(lines[1], "x") {
		t.Fatalf("want cwd %s and sh -x, got %q", sub, b)
	}
	e.MustRun("start", "true", "--name", "once", "--autorestart", "on-failure")
	waitStatus(t, e, "once", "stopped", 10*time.Second)
	if p := find(list(t, e), "once"); p.Restarts != 0 {
		t.Fatalf("a clean exit under on-failure was restarted: %+v", p)
	}
}

// TestKeysRestartPolicy: a program that fails at once is restarted after
// restart_delay, multiplied by restart_factor, capped at max_restart_delay,
// until max_restarts inside restart_window end it errored; a run longer
// than min_uptime restarts at once.
func TestKeysRestartPolicy(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "false", "--name", "crash", "--restart-delay", "300ms", "--restart-factor", "3",
		"--max-restart-delay", "600ms", "--max-restarts", "3", "--restart-window", "1m")
	waitStatus(t, e, "crash", "errored", 20*time.Second)
	d := describeAll(t, e, "crash")[0]
	if len(d.History) != 3 || !strings.Contains(d.Reason, "crash loop: 3 restarts in 1m") {
		t.Fatalf("want errored after 3 restarts: %+v", d)
	}
	// Gaps between restarts: 300ms, then 900ms capped to 600ms, then 600ms.
	for i, want := range []time.Duration{600 * time.Millisecond, 600 * time.Millisecond} {
		gap := d.History[i+1].Time.Sub(d.History[i].Time)
		if gap < want-50*time.Millisecond || gap > want+900*time.Millisecond {
			t.Errorf("gap %d: %s, want about %s", i+1, gap, want)
		}
	}
	// restart_window: the same 3 restarts spread wider than the window are
	// no crash loop. Runs of 0.3 s (stable: beyond min_uptime) restart at once.
	e.MustRun("start", "sleep 0.3; exit 1", "--name", "spread", "--min-uptime", "100ms", "--max-restarts", "3", "--restart-window", "200ms")
	waitFor(t, "five restarts", 20*time.Second, func() bool { return find(list(t, e), "spread").Restarts >= 5 })
	if p := find(list(t, e), "spread"); p.Status == "errored" {
		t.Fatalf("restarts wider apart than restart_window made a crash loop: %+v", p)
	}
	// A run that lasted min_uptime restarts at once, however many came before.
	e.MustRun("start", "sleep 0.3; exit 1", "--name", "stable", "--min-uptime", "200ms", "--restart-delay", "5s")
	waitFor(t, "two quick restarts", 10*time.Second, func() bool { return find(list(t, e), "stable").Restarts >= 2 })
}

// TestKeysKillSignalAndTimeout: stop sends kill_signal, and SIGKILL only
// after kill_timeout.
func TestKeysKillSignalAndTimeout(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := project(t, nil)
	got, armed := filepath.Join(dir, "got"), filepath.Join(dir, "armed")
	e.MustRun("start", fmt.Sprintf("trap 'echo INT > %s; exit 0' INT; trap '' TERM; touch %s; while true; do sleep 0.05; done", got, armed),
		"--name", "int", "--kill-signal", "SIGINT")
	waitFor(t, "the traps", 10*time.Second, func() bool { _, err := os.Stat(armed); return err == nil })
	e.MustRun("stop", "int")
	if b, _ := os.ReadFile(got); strings.TrimSpace(string(b)) != "INT" {
		t.Fatalf("kill_signal SIGINT not sent: %q", b)
	}
	deaf := filepath.Join(dir, "deaf")
	e.MustRun("start", fmt.Sprintf("trap '' TERM; touch %s; while true; do sleep 0.05; done", deaf), "--name", "deaf", "--kill-timeout", "1500ms")
	waitFor(t, "the trap", 10*time.Second, func() bool { _, err := os.Stat(deaf); return err == nil })
	begin := time.Now()
	e.MustRun("stop", "deaf")
	if took := time.Since(begin); took < 1400*time.Millisecond || took > 6*time.Second {
		t.Fatalf("a program deaf to SIGTERM was killed after %s, want kill_timeout 1.5s", took)
	}
	if d := describeAll(t, e, "deaf")[0]; d.LastExit == nil || d.LastExit.Signal != "SIGKILL" {
		t.Fatalf("last exit %+v, want SIGKILL", d.LastExit)
	}
}

// TestKeysWatchPaths: only the folders in watch_paths restart the process.
func TestKeysWatchPaths(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := project(t, map[string]string{"other.txt": "0"})
	os.Mkdir(filepath.Join(dir, "src"), 0o755)
	e.MustRunIn(dir, "start", "sleep", "--name", "w", "--watch", "--watch-paths", "src", "--watch-debounce", "1500ms", "--", "300")
	os.WriteFile(filepath.Join(dir, "other.txt"), []byte("1"), 0o644)
	time.Sleep(2 * time.Second) // beyond the quiet time: a restart would have come
	if n := find(list(t, e), "w").Restarts; n != 0 {
		t.Fatalf("a file outside watch_paths restarted it (%d)", n)
	}
	// watch_debounce: the restart waits 1.5 s of quiet after the change.
	written := time.Now()
	os.WriteFile(filepath.Join(dir, "src", "a.go"), []byte("package a"), 0o644)
	waitFor(t, "a restart for src/", 15*time.Second, func() bool { return find(list(t, e), "w").Restarts >= 1 })
	if h := describeAll(t, e, "w")[0].History; h[0].Time.Sub(written) < 1400*time.Millisecond {
		t.Fatalf("restarted %s after the change, before watch_debounce (1.5s)", h[0].Time.Sub(written))
	}
}

// TestKeysLogRotation: log_max_size rotates, log_keep bounds the rotated
// files, log_gzip compresses them.
func TestKeysLogRotation(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "i=0; while [ $i -lt 400 ]; do echo line $i padding padding padding padding; i=$((i+1)); done; exec sleep 300",
		"--name", "chatty", "--log-max-size", "2K", "--log-keep", "2", "--log-gzip")
	logs := filepath.Join(e.Home, "logs")
	var rotated []string
	waitFor(t, "rotated, gzipped logs", 10*time.Second, func() bool {
		rotated, _ = filepath.Glob(filepath.Join(logs, "chatty-out.*.log.gz"))
		return len(rotated) == 2
	})
	time.Sleep(300 * time.Millisecond) // the program has written everything: no more files may come
	if rotated, _ = filepath.Glob(filepath.Join(logs, "chatty-out.*.log*")); len(rotated) != 2 {
		t.Fatalf("log_keep 2: %v", rotated)
	}
	if st, err := os.Stat(filepath.Join(logs, "chatty-out.log")); err != nil || st.Size() > 2048 {
		t.Fatalf("the current file is above log_max_size: %v %v", st, err)
	}
}

// TestKeysMode: mode = "cluster" makes Velos hold the port even for one
// instance (and refuses a program with no port to share); mode = "fork"
// leaves every instance to bind its own.
func TestKeysMode(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	port := freePort(t)
	e.MustRun("start", testenv.TestApp(t), "--name", "one", "--mode", "cluster", "--env", "PORT="+port, "--", "-serve", "port")
	if d := describeAll(t, e, "one")[0]; d.Listen != ":"+port || d.Balance != "round-robin" {
		t.Fatalf("mode cluster, one instance: listen %q balance %q", d.Listen, d.Balance)
	}
	if r := e.Run("start", "sleep", "--name", "noport", "--mode", "cluster", "--", "300"); r.Code == 0 || !strings.Contains(r.Stderr, "cluster mode needs the port") {
		t.Fatalf("mode cluster without a port: %+v", r)
	}
	other := freePort(t)
	e.MustRun("start", testenv.TestApp(t), "--name", "forked", "-i", "2", "--mode", "fork", "--env", "PORT="+other)
	if d := describeAll(t, e, "forked")[0]; d.Listen != "" {
		t.Fatalf("mode fork: Velos holds %q", d.Listen)
	}
}
