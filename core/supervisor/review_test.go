package supervisor

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func freeTCPPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// A process giving back its port while another starts must not deadlock
// the Manager (the port is released outside the process's lock).
func TestNoDeadlockReleasingAPortWhileStarting(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	spec := Spec{Name: "a", Command: []string{"sleep", "60"}, Listen: "127.0.0.1:" + freeTCPPort(t), Balance: BalanceSocket}
	if _, err := m.Start(spec); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 30; i++ {
			if _, err := m.Restart(context.Background(), "a", CauseManual); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 30; i++ {
			name := fmt.Sprintf("b%d", i)
			if _, err := m.Start(Spec{Name: name, Command: []string{"sleep", "60"}}); err != nil {
				t.Error(err)
				return
			}
			m.List()
			if _, err := m.Delete(context.Background(), name); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("restarts and starts deadlocked")
	}
}

// The old run ending for good during a reload (no restart: policy never)
// must not leave the new run unsupervised: the reload fails, and the new
// run is stopped with it.
func TestOldRunEndingDuringReloadLeavesNoOrphan(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	dir := t.TempDir()
	flag, pids, die, first := filepath.Join(dir, "flag"), filepath.Join(dir, "pids"), filepath.Join(dir, "die"), filepath.Join(dir, "first")
	// The first run says it is the first, then waits for "die"; the next
	// ones (once "flag" exists) record their pid and live.
	script := fmt.Sprintf(`if [ -e %s ]; then echo $$ >> %s; exec sleep 60; fi; touch %s; while [ ! -e %s ]; do sleep 0.05; done`, flag, pids, first, die)
	spec := Spec{Name: "r", Command: []string{"sh", "-c", script}, Autorestart: Never,
		Listen: "127.0.0.1:" + freeTCPPort(t), Balance: BalanceSocket}
	if _, err := m.Start(spec); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(first); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatal("the first run never got going")
		}
	}
	os.WriteFile(flag, nil, 0o644)
	reloaded := make(chan error, 1)
	go func() {
		_, err := m.Reload(context.Background(), "r", nil, CauseReload, nil)
		reloaded <- err
	}()
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for pid == 0 && time.Now().Before(deadline) {
		b, _ := os.ReadFile(pids)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(10 * time.Millisecond)
	}
	if pid == 0 {
		select {
		case err := <-reloaded:
			t.Fatalf("the reload's new run never started: %v", err)
		default:
			t.Fatal("the reload's new run never started")
		}
	}
	os.WriteFile(die, nil, 0o644) // the old run ends for good while the new one settles
	if err := <-reloaded; err == nil {
		t.Fatal("a reload whose old run ended for good succeeded")
	}
	if in := m.List()[0]; in.Status == Online || in.PID != 0 {
		t.Fatalf("after the failed reload: %+v", in)
	}
	waitGone(t, pid)
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d outlived its process", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Shutdown while a start waits for readiness leaves no child behind, and
// nothing starts after it.
func TestShutdownDuringAStartLeavesNothing(t *testing.T) {
	t.Parallel()
	m := NewManager(Options{})
	started := make(chan error, 1)
	go func() {
		_, err := m.Start(Spec{Name: "slow", Command: []string{"sleep", "60"}, WaitReady: true, ListenTimeout: 20 * time.Second})
		started <- err
	}()
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for pid == 0 && time.Now().Before(deadline) {
		if l := m.List(); len(l) > 0 {
			pid = l[0].PID
		}
		time.Sleep(10 * time.Millisecond)
	}
	if pid == 0 {
		t.Fatal("the child never started")
	}
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-started; err == nil {
		t.Fatal("a start cut by Shutdown succeeded")
	}
	waitGone(t, pid)
	if _, err := m.Start(Spec{Name: "late", Command: []string{"sleep", "60"}}); err == nil {
		t.Fatal("a start after Shutdown was accepted")
	}
}
