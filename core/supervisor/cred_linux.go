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

// fromGroup reports whether the credentials in oob name a process of r's
// process group.
func (r *run) fromGroup(oob []byte) bool {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return false
	}
	r.p.mu.Lock()
	pgid := r.pgid
	r.p.mu.Unlock()
	for _, m := range msgs {
		if cred, err := syscall.ParseUnixCredentials(&m); err == nil {
			g, err := syscall.Getpgid(int(cred.Pid))
			return err == nil && pgid > 0 && g == pgid
		}
	}
	return false
}
