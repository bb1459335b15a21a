//go:build linux && faults

package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

// A daemon limited to 64 file descriptors (prlimit, soft and hard: Go
// raises the soft limit to the hard one) runs out of them after a few
// processes: the start that cannot get its pipes fails with a clear error
// and leaves nothing behind, the daemon goes on answering (list, describe,
// logs, save), the processes already started run on, and deleting some
// makes room again.
func TestFileDescriptorsExhausted(t *testing.T) {
	t.Parallel()
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("no prlimit(1) to limit the daemon's file descriptors")
	}
	e := newEnv(t)
	e.startDaemon([]string{prlimit, "--nofile=64:64"}, nil)
	// The first process starts the keeper, whose descriptors (a session, its
	// watch, the keeper's pidfd) the daemon keeps from then on: count from there.
	e.MustRun("start", "sleep", "--name", "warm", "--", "1000")
	e.MustRun("delete", "warm")
	base := e.daemonFDs()
	started := 0
	var failure testenv.Result
	for i := 1; i <= 60; i++ {
		r := e.Run("start", "sleep", "--name", fmt.Sprintf("f%02d", i), "--", "1000")
		if r.Code != 0 {
			failure = r
			break
		}
		started++
	}
	if failure.Code == 0 {
		t.Fatalf("60 processes started under a limit of 64 descriptors (%d in use)", e.daemonFDs())
	}
	if !strings.Contains(failure.Stderr, "too many open files") {
		t.Fatalf("the failed start says %q; want the reason, too many open files", failure.Stderr)
	}
	t.Logf("%d started with %d descriptors in use at first; then: %s", started, base, strings.TrimSpace(failure.Stderr))
	ps := e.healthy()
	if len(ps) != started {
		t.Fatalf("%d listed after %d starts and one failure: %+v", len(ps), started, ps)
	}
	// Still answering, descriptors or not: each call ends, with an answer or
	// a clear error.
	for _, args := range [][]string{{"describe", "f01"}, {"logs", "f01", "--no-follow"}, {"save"}, {"health", "all"}} {
		if r := e.Run(args...); r.Code != 0 && strings.TrimSpace(r.Stderr) == "" {
			t.Fatalf("velos %v: exit %d with no message", args, r.Code)
		} else {
			t.Logf("velos %v while out of descriptors: exit %d %s", args, r.Code, strings.TrimSpace(r.Stderr))
		}
	}
	for i := 1; i <= 3; i++ {
		e.MustRun("delete", fmt.Sprintf("f%02d", i))
	}
	e.MustRun("start", "sleep", "--name", "again", "--", "1000")
	e.healthy()
	e.MustRun("delete", "all")
	if fds := e.daemonFDs(); fds > base+2 {
		t.Fatalf("after deleting everything the daemon holds %d descriptors, %d at first", fds, base)
	}
}

// The log folder is a 512 KiB tmpfs (in a private mount namespace, so only
// the daemon and its children see it) and a program writes 500 KB/s into
// it. Once it is full: the program is still supervised (a restart works),
// daemon.log reports the loss at most once per --log-error-interval (1s
// here) with the count dropped, describe and health say so; the files keep
// whole lines; once velos flush frees the space, writing resumes by itself.
func TestLogDiskFull(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare(1) for a private mount namespace")
	}
	if out, err := exec.Command(unshare, "-m", "--propagation", "private", "true").CombinedOutput(); err != nil {
		t.Skipf("no private mount namespace here: %v %s", err, out)
	}
	e := newEnv(t)
	if err := os.MkdirAll(filepath.Join(e.Home, "logs"), 0o700); err != nil {
		t.Fatal(err)
	}
	e.startDaemon([]string{unshare, "-m", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs -o size=512k tmpfs "$VELOS_HOME/logs" && exec "$0" "$@"`}, []string{"VELOS_LOG_ERROR_INTERVAL=1s"})
	// The daemon's view of its log folder, from outside its namespace.
	logs := fmt.Sprintf("/proc/%d/root%s", e.daemonPID(), filepath.Join(e.Home, "logs"))
	e.MustRun("start", testenv.TestApp(t), "--name", "chat", "--", "-chatty", "5000", "-line-bytes", "100")

	describe := func() tools.ProcessDetail {
		var d tools.DescribeOut
		if err := json.Unmarshal([]byte(e.MustRun("describe", "chat", "--json")), &d); err != nil {
			t.Fatal(err)
		}
		return d.Processes[0]
	}
	waitFor(t, "describe to report the full disk", 30*time.Second, func() bool { return len(describe().LogErrors) > 0 })
	full := time.Now()
	t.Logf("describe: %v", describe().LogErrors)

	// Supervision goes on.
	before := find(e.list(), "chat").PID
	e.MustRun("restart", "chat")
	if p := find(e.list(), "chat"); p.Status != "online" || p.PID == before {
		t.Fatalf("restart on a full disk: %+v", p)
	}
	var h tools.HealthOut
	if err := json.Unmarshal([]byte(e.MustRun("health", "chat", "--json")), &h); err != nil {
		t.Fatal(err)
	}
	if v := h.Processes[0]; v.Verdict != tools.Degraded || !strings.Contains(strings.Join(v.Reasons, ";"), "log not written") {
		t.Fatalf("health on a full disk: %s %v", v.Verdict, v.Reasons)
	}
	// Reported once per interval: wait for three reports, then count.
	const warn = `level=WARN msg=logs err="write chat-out log`
	waitFor(t, "three reports of the full disk", 30*time.Second, func() bool { return e.countDaemonLog(warn) >= 3 })
	n, secs := e.countDaemonLog(warn), time.Since(full).Seconds()
	if float64(n) > secs+2 {
		t.Fatalf("%d reports in %.1fs with an interval of 1s:\n%s", n, secs, e.tailDaemonLog(20))
	}
	t.Logf("%d reports in %.1fs", n, secs)

	// Space returns: writing resumes by itself.
	e.MustRun("flush", "chat")
	e.waitDaemonLog(`chat-out log written again: \d+ lines dropped`, 30*time.Second)
	waitFor(t, "describe to clear", 10*time.Second, func() bool { return len(describe().LogErrors) == 0 })
	if r := e.MustRun("logs", "chat", "--lines", "3", "--no-follow"); strings.Count(r, "seq ") != 3 {
		t.Fatalf("after space returned, velos logs shows:\n%s", r)
	}
	e.MustRun("stop", "chat")
	recs, _ := readLogs(t, logs, "chat", false)
	t.Logf("%d whole records in the files; daemon.log: %s", len(recs), lastMatch(e.tailDaemonLog(50), "written again"))
	e.healthy()
}

func lastMatch(text, sub string) string {
	lines := strings.Split(text, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], sub) {
			return lines[i]
		}
	}
	return ""
}
