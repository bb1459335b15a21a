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
	// so most children are born and reaped between two samples: the tree's
	// CPU is in the leader's reaped-children time, not in a live process.
	// SIGTERM makes it finish the current child and exit.
	reaperPy = `import signal, subprocess, sys
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
sys.stdout.write("ready\n"); sys.stdout.flush()
burn = "import time\nt = time.time()\nwhile time.time() - t < 0.2: pass"
while not stop: subprocess.run([sys.executable, "-c", burn])`
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

// stopAndMeasure signals cmd's leader, waits for it, and returns the CPU the
// kernel charged to it and the descendants it reaped (wait4's rusage), with
// the time it ended. This is the ground truth the sampler is checked against,
// independent of how loaded the machine is.
func stopAndMeasure(tb testing.TB, cmd *exec.Cmd, sig syscall.Signal) (cpuSeconds float64, ended time.Time) {
	tb.Helper()
	if err := cmd.Process.Signal(sig); err != nil {
		tb.Fatal(err)
	}
	_ = cmd.Wait() // killed by a signal: an error, expected
	ended = time.Now()
	ps := cmd.ProcessState
	return (ps.UserTime() + ps.SystemTime()).Seconds(), ended
}

// checkCPU compares the sampler's CPU percentage over [first, second] with the
// kernel's figure over [first, ended]. ended follows second within
// milliseconds (a SIGKILL) or one 0.2 s child (the reaper), so the two windows
// nearly coincide.
func checkCPU(t *testing.T, what string, first, second Sample, kernel float64, ended time.Time, tol float64) {
	t.Helper()
	truth := (kernel - first.CPUSeconds) / ended.Sub(first.Time).Seconds() * 100
	t.Logf("%s: sampler %.1f%% of a core, kernel %.1f%%; cpu_s %.2f→%.2f, kernel total %.2f",
		what, second.CPUPercent, truth, first.CPUSeconds, second.CPUSeconds, kernel)
	if d := second.CPUPercent - truth; d > tol || d < -tol {
		t.Errorf("%s: CPU %.1f%%, kernel says %.1f%% (tolerance ±%.0f)", what, second.CPUPercent, truth, tol)
	}
	if second.CPUSeconds > kernel+0.02 {
		t.Errorf("%s: cumulative CPU %.2f s exceeds the kernel's total %.2f s", what, second.CPUSeconds, kernel)
	}
	// The sampler can only lack what ran after its last pass.
	if tail := ended.Sub(second.Time).Seconds(); second.CPUSeconds < kernel-tail-0.05 {
		t.Errorf("%s: cumulative CPU %.2f s, kernel %.2f s: more missing than the %.2f s tail", what, second.CPUSeconds, kernel, tail)
	}
	// On an idle machine both figures are ≈100; on a loaded one (other
	// builds sharing the cores) the loop gets less, but never nothing.
	if second.CPUPercent < 3 {
		t.Errorf("%s: CPU %.1f%%: a busy loop must show up", what, second.CPUPercent)
	}
}
