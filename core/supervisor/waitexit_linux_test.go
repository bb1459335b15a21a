package supervisor

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// threads is this process's OS thread count.
func threads(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("Threads:")); ok {
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}

// TestChildrenHoldNoThreads: waiting for 40 children costs no OS thread
// each (a blocking wait would: 40 threads, each with its stacks), and an
// exit is still seen at once. Not parallel: other tests' children would
// move the count.
func TestChildrenHoldNoThreads(t *testing.T) {
	m, ev := newManager(t)
	before := threads(t)
	const n = 40
	var pids []int
	for i := range n {
		infos, err := m.Start(Spec{Name: fmt.Sprintf("w%d", i), Command: []string{"sleep", "300"}})
		if err != nil {
			t.Fatal(err)
		}
		ev.wait(t, EventStarted, 5*time.Second)
		pids = append(pids, infos[0].PID)
	}
	if grown := threads(t) - before; grown >= n/4 {
		t.Fatalf("%d children added %d OS threads: the waits block threads", n, grown)
	}
	if err := syscall.Kill(pids[7], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if crash := ev.wait(t, EventCrashed, 5*time.Second); crash.Name != "w7" || crash.Exit.Signal != "SIGKILL" {
		t.Fatalf("crash event %+v", crash)
	}
}
