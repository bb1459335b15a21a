//go:build unix

package logs

import (
	"io"
	"syscall"
)

// pollable: a child's pipe can be waited on by the runtime's poller.
const pollable = true

// readReady reads what the polled pipe rc has into (*pb).b[end:], waiting
// for it to have data first. While it waits with nothing pending (end 0),
// the buffer goes back to the pool; *pb is nil until data comes.
func (s *Store) readReady(rc syscall.RawConn, pb **pooled, end, size int) (n int, err error) {
	var rerr error
	perr := rc.Read(func(fd uintptr) bool {
		if *pb == nil {
			*pb = s.bufs.get(size)
		}
		for {
			n, rerr = syscall.Read(int(fd), (*pb).b[end:])
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			if end == 0 {
				s.bufs.put(*pb)
				*pb = nil
			}
			return false // wait until the pipe has data
		}
		return true
	})
	switch {
	case perr != nil:
		return 0, perr
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}
