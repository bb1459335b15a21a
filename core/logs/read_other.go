//go:build !unix

package logs

import "syscall"

// pollable: pipes are read with blocking reads here.
const pollable = false

func (s *Store) readReady(syscall.RawConn, **pooled, int, int) (int, error) {
	panic("logs: readReady without a pollable pipe")
}
