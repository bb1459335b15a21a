package supervisor

import (
	"net"
	"syscall"
)

// passCredentials asks the kernel to attach the sender's credentials to
// every datagram c receives (SO_PASSCRED).
func passCredentials(c *net.UnixConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PASSCRED, 1)
	}); err != nil {
		return err
	}
	return serr
}

// abstractSockets: Linux has the abstract namespace and SO_PASSCRED.
const abstractSockets = true

// fromRun reports whether the credentials in oob name the run's own
// process, or one of its process group. A sender already gone (a
// systemd-notify that exits at once) is judged by its user.
func (r *run) fromRun(oob []byte) bool {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return false
	}
	r.p.mu.Lock()
	pid, pgid := r.pid, r.pgid
	r.p.mu.Unlock()
	for _, m := range msgs {
		cred, err := syscall.ParseUnixCredentials(&m)
		if err != nil {
			continue
		}
		if int(cred.Pid) == pid {
			return true
		}
		if g, err := syscall.Getpgid(int(cred.Pid)); err == nil {
			return pgid > 0 && g == pgid
		}
		return cred.Uid == r.uid
	}
	return false
}
