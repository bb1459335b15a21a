//go:build unix

package keeper

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// drain is one spooled pipe: while no owner holds the keeper, a goroutine
// reads the pipe into the spool file at path. The Keeper's lock guards it.
type drain struct {
	path string
	f    *os.File      // the pipe while draining
	done chan struct{} // closed when the draining goroutine has ended; nil when not draining
}

// start drains f into the spool, unless it already does.
func (d *drain) start(f *os.File, log *slog.Logger) {
	if d.done != nil || f == nil {
		return
	}
	d.f, d.done = f, make(chan struct{})
	go d.run(f, d.done, log)
}

func (d *drain) run(f *os.File, done chan struct{}, log *slog.Logger) {
	defer close(done)
	var out *os.File
	defer func() {
		if out != nil {
			out.Close()
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			if out == nil {
				if err := os.MkdirAll(dirOf(d.path), 0o700); err != nil {
					log.Warn("spool", "path", d.path, "err", err)
				}
				var oerr error
				if out, oerr = os.OpenFile(d.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); oerr != nil {
					// Nowhere to put it: the bytes are lost, but the child
					// must not block on a full pipe.
					log.Warn("spool", "path", d.path, "err", oerr)
					out = nil
				}
			}
			if out != nil {
				if _, werr := out.Write(buf[:n]); werr != nil {
					log.Warn("spool", "path", d.path, "err", werr)
				}
			}
		}
		if err != nil {
			return // EOF (every writer gone), or stop's deadline
		}
	}
}

// stop ends the draining at once (a read under way returns) and waits for
// the goroutine: nothing is read from the pipe after it returns.
func (d *drain) stop() {
	if d.done == nil {
		return
	}
	_ = d.f.SetReadDeadline(time.Now())
	<-d.done
	_ = d.f.SetReadDeadline(time.Time{})
	d.f, d.done = nil, nil
}

// take stops the draining and hands over the spool (nil when nothing was
// spooled): its name goes, so the next gap spools into a new file.
func (d *drain) take() (*os.File, error) {
	d.stop()
	f, err := os.Open(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := os.Remove(d.path); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// spoolName is a file name for key ("p3.12/out" → "p3.12%2Fout.spool").
func spoolName(key string) string { return url.PathEscape(key) + ".spool" }

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[:i]
		}
	}
	return "."
}

// pollable returns f as a file the runtime's poller serves (so that a read
// can be cut short with a deadline), making its descriptor non-blocking if
// it is not. A child's pipe read end from os.Pipe already is; the flag is
// the open file's, shared with the daemon's copy, which wants it too.
func pollable(f *os.File) (*os.File, error) {
	fd, err := rawFD(f)
	if err != nil {
		return nil, err
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return nil, fmt.Errorf("fcntl: %w", err)
	}
	if fl&unix.O_NONBLOCK != 0 {
		return f, nil
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("non-blocking: %w", err)
	}
	// os.NewFile decides once whether the poller serves a file: make it
	// again now that the descriptor is non-blocking.
	nfd, err := dupCloexec(fd)
	if err != nil {
		return nil, err
	}
	f.Close()
	return os.NewFile(uintptr(nfd), "kept"), nil
}

// rawFD is f's descriptor. Unlike f.Fd it leaves the descriptor's mode
// alone: Fd makes it blocking, and the blocking flag belongs to the open
// file, shared with every copy (the daemon's reader, a child's socket).
func rawFD(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return -1, err
	}
	return fd, nil
}
