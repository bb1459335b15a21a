package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// canAdopt: see Adopt.
const canAdopt = true

// startTicks is the kernel's start time of pid, in clock ticks since boot
// (field 22 of /proc/<pid>/stat): with the pid, it names one process for
// ever, where a pid alone is reused.
func startTicks(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command field", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): field 22 is f[19].
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	if f[0] == "Z" || f[0] == "X" {
		return 0, fmt.Errorf("process %d has exited", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// foreign is a running process this daemon image did not start — left by a
// daemon that was killed, or started before this one re-executed itself —
// held by a pidfd so that its exit is noticed without polling.
type foreign struct {
	pid int
	fd  *os.File
}

// findRun returns the process pid if it still runs and is the one that
// started at ticks; ok is false if it is gone (or its pid was reused).
func findRun(pid int, ticks uint64) (*foreign, bool) {
	if pid <= 0 {
		return nil, false
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, false
	}
	// Checked after the pidfd is open: from here on the pidfd names this
	// process, whatever becomes of the pid.
	if t, err := startTicks(pid); err != nil || t != ticks {
		unix.Close(fd)
		return nil, false
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, false
	}
	return &foreign{pid: pid, fd: os.NewFile(uintptr(fd), "pidfd")}, true
}

// wait returns once the process has ended, and how: its real status when
// it is this process's child (a daemon that re-executed itself keeps its
// children), else unknown — the status of another's child cannot be read.
func (f *foreign) wait() Exit {
	defer f.fd.Close()
	if rc, err := f.fd.SyscallConn(); err == nil {
		_ = rc.Read(func(fd uintptr) bool {
			p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(p, 0)
			return err != nil || n > 0
		})
	}
	var ws syscall.WaitStatus
	for {
		wpid, err := syscall.Wait4(f.pid, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err == nil && wpid == f.pid {
			if ws.Signaled() {
				return Exit{Code: -1, Signal: signalName(ws.Signal())}
			}
			return Exit{Code: ws.ExitStatus()}
		}
		return Exit{Code: -1, Reason: ExitUnknown}
	}
}
