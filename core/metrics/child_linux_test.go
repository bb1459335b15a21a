package metrics

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Child programs. Each prints "ready" once its state is established, so tests
// wait on a pipe rather than sleeping.
const (
	// allocPy touches 100 MiB: bytes repetition writes every page, unlike
	// bytearray(n), whose calloc'd pages never become resident.
	allocPy = `import sys, time
b = b"x" * (100 << 20)
sys.stdout.write("ready\n"); sys.stdout.flush()
time.sleep(600)`
	busyPy = `import sys
sys.stdout.write("ready\n"); sys.stdout.flush()
while True: pass`
	// treePy: leader → middle → grandchild running allocPy; the grandchild
	// inherits stdout and says ready.
	treePy = `import subprocess, sys
mid = "import subprocess, sys; subprocess.run([sys.executable, '-c', sys.argv[1]])"
subprocess.run([sys.executable, "-c", mid, sys.argv[1]])`
	// reaperPy runs one short busy child after another, each living 0.2 s,
	// so every child is born and reaped between two samples: the tree's CPU
	// is in the leader's reaped-children time, never in a live process.
	reaperPy = `import subprocess, sys
sys.stdout.write("ready\n"); sys.stdout.flush()
burn = "import time\nt = time.time()\nwhile time.time() - t < 0.2: pass"
while True: subprocess.run([sys.executable, "-c", burn])`
)

const mib = 1 << 20

// startChild starts argv in its own process group, waits for its "ready"
// line, and kills the whole group when the test ends.
func startChild(tb testing.TB, argv ...string) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %v: %v", argv, err)
	}
	tb.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line)
	}()
	select {
	case line := <-ready:
		if line != "ready" {
			tb.Fatalf("%v: first line %q, want ready", argv, line)
		}
	case <-time.After(20 * time.Second):
		tb.Fatalf("%v: not ready after 20s", argv)
	}
	return cmd
}

// startSleeper starts `sleep 600` in its own process group. cmd.Start
// returns once exec has succeeded, so the process is fully `sleep` by then.
func startSleeper(tb testing.TB) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command("sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd
}

func py(tb testing.TB, script string, args ...string) *exec.Cmd {
	tb.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		tb.Skip("python3 not on PATH")
	}
	return startChild(tb, append([]string{"python3", "-c", script}, args...)...)
}

func sampleOne(t *testing.T, s *Sampler, targets ...Target) []Sample {
	t.Helper()
	out, err := s.Sample(context.Background(), targets)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
