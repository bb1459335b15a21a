package supervisor

import (
	"os"

	"golang.org/x/sys/unix"
)

// waitExited returns once the process pid has terminated, without reaping
// it, so the cmd.Wait that follows returns at once. It waits on a pidfd
// through the runtime's poller: a blocking wait would hold an OS thread per
// child for the child's whole life (100 processes, 100 threads and their
// stacks). Without pidfds (Linux < 5.3) it returns at once and cmd.Wait
// blocks as before.
func waitExited(pid int) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	// A pidfd becomes readable when its process terminates. The callback
	// asks the kernel; while it says no, the poller parks this goroutine.
	_ = rc.Read(func(fd uintptr) bool {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(p, 0)
		return err != nil || n > 0
	})
}
