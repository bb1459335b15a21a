package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/velos-pm/velos/internal/testenv"
)

// TestLogsOnATerminalFollows: with stdout on a pseudo-terminal, plain
// `velos logs api` streams, as PM2 does; --no-follow prints and ends.
func TestLogsOnATerminalFollows(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sh", "--name", "api", "--", "-c", booter)
	first := pidOf(t, e, "api")
	waitFor(t, "the boot line", 10*time.Second, func() bool { return len(logsJSON(t, e, "api").Lines) == 1 })

	master, slave := openPTY(t)
	_, lines := follower(t, e, slave, master, "api")
	expect(t, lines, fmt.Sprintf("boot %d", first), 10*time.Second)
	e.MustRun("restart", "api")
	expect(t, lines, fmt.Sprintf("boot %d", pidOf(t, e, "api")), 5*time.Second)

	master2, slave2 := openPTY(t)
	cmd, lines2 := follower(t, e, slave2, master2, "api", "--no-follow")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("--no-follow on a terminal: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("--no-follow on a terminal did not end")
	}
	expect(t, lines2, "boot", time.Second)
}

// openPTY opens a pseudo-terminal pair with the Linux ioctls (no module
// needed for this one test).
func openPTY(t *testing.T) (master *os.File, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skip("no pseudo-terminals:", err)
	}
	var unlock int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		t.Skip("unlockpt:", errno)
	}
	var n uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Skip("ptsname:", errno)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skip("open pts:", err)
	}
	t.Cleanup(func() { m.Close() })
	return m, s
}
