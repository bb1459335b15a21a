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

func (r *run) fromGroup([]byte) bool { return false }
