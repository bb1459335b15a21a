package supervisor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// events collects a Manager's events so tests wait on them instead of polling.
type events chan Event

func (e events) on(ev Event) {
	select {
	case e <- ev:
	default:
	}
}

func (e events) wait(t *testing.T, kind EventKind, d time.Duration) Event {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev := <-e:
			if ev.Kind == kind {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event within %v", kind, d)
		}
	}
}

func newManager(t *testing.T) (*Manager, events) {
	t.Helper()
	ev := make(events, 100)
	m := NewManager(Options{OnEvent: ev.on})
	t.Cleanup(func() {
		if err := m.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return m, ev
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestStartStopRestart(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	infos, err := m.Start(Spec{Name: "sleeper", Command: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	pid := infos[0].PID
	if infos[0].Status != Online || !alive(pid) {
		t.Fatalf("after start: %+v", infos[0])
	}
	infos, err = m.Restart(context.Background(), "sleeper", CauseManual)
	if err != nil {
		t.Fatal(err)
	}
	if infos[0].PID == pid || alive(pid) || infos[0].Restarts != 1 || infos[0].History[0].Cause != "manual" {
		t.Fatalf("after restart: %+v (old pid %d alive=%v)", infos[0], pid, alive(pid))
	}
	pid = infos[0].PID
	infos, err = m.Stop(context.Background(), "0")
	if err != nil {
		t.Fatal(err)
	}
	if infos[0].Status != Stopped || alive(pid) {
		t.Fatalf("after stop: %+v", infos[0])
	}
	if _, err := m.Delete(context.Background(), "all"); err != nil {
		t.Fatal(err)
	}
	if len(m.List()) != 0 {
		t.Fatal("delete left processes")
	}
	if _, err := m.Stop(context.Background(), "sleeper"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("stop of deleted: %v", err)
	}
}

func TestKilledChildIsRestarted(t *testing.T) {
	t.Parallel()
	m, ev := newManager(t)
	infos, err := m.Start(Spec{Name: "k", Command: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	ev.wait(t, EventStarted, time.Second)
	if err := syscall.Kill(infos[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	crash := ev.wait(t, EventCrashed, 5*time.Second)
	if crash.Exit.Signal != "SIGKILL" {
		t.Fatalf("crash exit = %+v", crash.Exit)
	}
	if st := ev.wait(t, EventStarted, 5*time.Second); st.Cause != "SIGKILL" {
		t.Fatalf("restart event cause = %q, want SIGKILL", st.Cause)
	}
	in := m.List()[0]
	if in.Status != Online || in.Restarts != 1 || in.History[0].Cause != "SIGKILL" || in.PID == infos[0].PID {
		t.Fatalf("after kill -9: %+v", in)
	}
}

func TestCrashLoopEndsErrored(t *testing.T) {
	t.Parallel()
	m, ev := newManager(t)
	spec := Spec{Name: "boom", Command: []string{"sh", "-c", "exit 3"}, MaxRestarts: 3,
		Backoff: Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}}
	if _, err := m.Start(spec); err != nil {
		t.Fatal(err)
	}
	e := ev.wait(t, EventExited, 10*time.Second)
	in := m.List()[0]
	if in.Status != Errored || in.Restarts != 3 || in.LastExit.Code != 3 || !strings.Contains(e.Reason, "crash loop") {
		t.Fatalf("after crash loop: %+v reason %q", in, e.Reason)
	}
}

func TestStopEscalatesAndKillsGrandchildren(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "grandchild")
	m, _ := newManager(t)
	// Ignores SIGTERM, and leaves a grandchild that would outlive it.
	script := `trap "" TERM; sleep 300 & echo $! > ` + pidfile + `; while :; do sleep 0.05; done`
	if _, err := m.Start(Spec{Name: "stubborn", Command: []string{"sh", "-c", script}, KillTimeout: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	var gpid int
	for deadline := time.Now().Add(5 * time.Second); gpid == 0 && time.Now().Before(deadline); {
		b, _ := os.ReadFile(pidfile)
		gpid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(10 * time.Millisecond) // waiting on a file the child writes: no event to wait on
	}
	if gpid == 0 {
		t.Fatal("grandchild never started")
	}
	start := time.Now()
	infos, err := m.Stop(context.Background(), "stubborn")
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("stopped in %v, before kill_timeout: SIGTERM was not ignored?", took)
	}
	if infos[0].LastExit.Signal != "SIGKILL" {
		t.Fatalf("exit = %+v, want SIGKILL", infos[0].LastExit)
	}
	// The grandchild is reaped by init; give it the moment that takes.
	for deadline := time.Now().Add(2 * time.Second); alive(gpid) && !zombie(gpid) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(gpid) && !zombie(gpid) {
		t.Fatalf("grandchild %d outlived the stop", gpid)
	}
}

func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] == 'Z'
}

func TestTrappedTermExitsWithOwnStatus(t *testing.T) {
	t.Parallel()
	m, ev := newManager(t)
	if _, err := m.Start(Spec{Name: "polite", Command: []string{"sh", "-c", `trap "exit 7" TERM; while :; do sleep 0.05; done`}}); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, EventStarted, time.Second)
	time.Sleep(100 * time.Millisecond) // let sh install its trap
	infos, err := m.Stop(context.Background(), "polite")
	if err != nil {
		t.Fatal(err)
	}
	if infos[0].Status != Stopped || infos[0].LastExit.Code != 7 {
		t.Fatalf("stop: %+v exit %+v", infos[0], infos[0].LastExit)
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	if _, err := m.Start(Spec{Name: "x", Command: []string{"/nonexistent/prog"}}); err == nil || !strings.Contains(err.Error(), "/nonexistent/prog") {
		t.Fatalf("missing program: %v", err)
	}
	if len(m.List()) != 0 {
		t.Fatal("failed start left a process")
	}
	if _, err := m.Start(Spec{Name: "a", Command: []string{"sleep", "30"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(Spec{Name: "a", Command: []string{"sleep", "30"}}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := m.Resolve("nope"); err == nil || !strings.Contains(err.Error(), "known: a") {
		t.Fatalf("unknown: %v", err)
	}
}

// children counts live processes whose command line is exactly args.
func children(args ...string) int {
	want := strings.Join(args, "\x00") + "\x00"
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && string(b) == want && !zombie(pid) {
			n++
		}
	}
	return n
}

func TestConcurrentRestartsLeaveOneChild(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	if _, err := m.Start(Spec{Name: "one", Command: []string{"sleep", "917.3"}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = m.Restart(context.Background(), "one", CauseManual)
		}()
	}
	wg.Add(1)
	go func() { // a delete racing the restarts must win for good
		defer wg.Done()
		time.Sleep(5 * time.Millisecond)
		_, _ = m.Delete(context.Background(), "one")
	}()
	wg.Wait()
	if n := children("sleep", "917.3"); n != 0 || len(m.List()) != 0 {
		t.Fatalf("after restarts and a delete: %d children alive, %d listed; want none", n, len(m.List()))
	}
}

func TestConcurrentRestartsKeepExactlyOne(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	if _, err := m.Start(Spec{Name: "two", Command: []string{"sleep", "917.4"}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.Restart(context.Background(), "two", CauseManual); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := children("sleep", "917.4"); n != 1 {
		t.Fatalf("%d children after 6 concurrent restarts, want 1", n)
	}
	if in := m.List()[0]; in.Restarts != 6 || in.Status != Online {
		t.Fatalf("after restarts: %+v", in)
	}
}

func TestLogNamesNeverCollide(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	if _, err := m.Start(Spec{Name: "api", Instances: 2, Command: []string{"sleep", "30"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(Spec{Name: "api-1", Command: []string{"sleep", "30"}}); err == nil || !strings.Contains(err.Error(), `log name "api-1" is taken by process api`) {
		t.Fatalf("colliding log name: %v", err)
	}
}

// Scale adds instances beside the running ones (untouched) and removes the
// last ones; each keeps its log name.
func TestScale(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	infos, err := m.Start(Spec{Name: "w", Command: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	first := infos[0]
	up, err := m.Scale(context.Background(), "w", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(up) != 3 || up[0].PID != first.PID || up[0].LogName() != "w" || up[2].LogName() != "w-2" {
		t.Fatalf("up: %+v", up)
	}
	for _, in := range up {
		if in.Status != Online || in.Spec.Instances != 3 {
			t.Fatalf("up: %+v", in)
		}
	}
	down, err := m.Scale(context.Background(), "w", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(down) != 1 || down[0].PID != first.PID || len(m.List()) != 1 || alive(up[2].PID) {
		t.Fatalf("down: %+v (list %+v)", down, m.List())
	}
	if _, err := m.Scale(context.Background(), "nope", 2); !errors.Is(err, ErrUnknown) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := m.Scale(context.Background(), "w", 0); err == nil {
		t.Fatal("scale to 0 accepted")
	}
}
