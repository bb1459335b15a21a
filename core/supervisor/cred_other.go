//go:build !linux

package supervisor

import (
	"errors"
	"net"
)

// passCredentials: only Linux has abstract sockets and SO_PASSCRED.
func passCredentials(*net.UnixConn) error {
	return errors.New("abstract notify sockets need Linux")
}

// abstractSockets: only Linux has them.
const abstractSockets = false

// fromRun: without credentials (a socket in the daemon's private folder),
// every datagram counts.
func (r *run) fromRun([]byte) bool { return true }
