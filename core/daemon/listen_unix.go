//go:build unix

package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Lock is the proof that this process is the one daemon of a home.
type Lock struct {
	f      *os.File
	h      Home
	ln     net.Listener // the socket a previous image of this daemon passed on
	passed *os.File     // the socket's copy kept open across exec (see Pass)
}

// The variables through which a daemon that re-executes itself (velos
// update) passes its lock and listening socket to its new image: the home
// is never without a daemon, and clients that connect meanwhile wait in the
// socket's backlog.
const (
	lockFDEnv   = "VELOS_LOCK_FD"
	listenFDEnv = "VELOS_LISTEN_FD"
)

// Pass readies the lock and the listening socket ln to survive an exec of
// this process, and returns the environment entries that name them for the
// new image's [Acquire]. Close ln after it: the copy passed stays open.
func (l *Lock) Pass(ln net.Listener) ([]string, error) {
	ul, ok := ln.(*net.UnixListener)
	if !ok {
		return nil, errors.New("pass the daemon socket: not a unix listener")
	}
	ul.SetUnlinkOnClose(false) // the new image serves the same path
	f, err := ul.File()
	if err != nil {
		return nil, fmt.Errorf("pass the daemon socket: %w", err)
	}
	l.passed = f
	var fds []int
	for _, file := range []*os.File{l.f, f} {
		// Not file.Fd(): it would make the socket, shared with the
		// listener still open, blocking.
		rc, err := file.SyscallConn()
		if err != nil {
			return nil, fmt.Errorf("pass the daemon's lock and socket: %w", err)
		}
		var errno syscall.Errno
		if err := rc.Control(func(fd uintptr) {
			fds = append(fds, int(fd))
			_, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETFD, 0)
		}); err != nil {
			return nil, fmt.Errorf("pass the daemon's lock and socket: %w", err)
		}
		if errno != 0 {
			return nil, fmt.Errorf("pass the daemon's lock and socket: %w", errno)
		}
	}
	return []string{lockFDEnv + "=" + strconv.Itoa(fds[0]), listenFDEnv + "=" + strconv.Itoa(fds[1])}, nil
}

// Unpass undoes [Lock.Pass] when the exec failed: the socket is served again
// from the copy kept.
func (l *Lock) Unpass() (net.Listener, error) {
	if rc, err := l.f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { syscall.CloseOnExec(int(fd)) })
	}
	f := l.passed
	l.passed = nil
	if f == nil {
		return nil, errors.New("nothing passed")
	}
	defer f.Close()
	return net.FileListener(f)
}

// inherited returns the lock and socket a previous image of this daemon
// passed on (see Pass), if any.
func inherited(h Home) (*Lock, bool) {
	lfd, err1 := strconv.Atoi(os.Getenv(lockFDEnv))
	sfd, err2 := strconv.Atoi(os.Getenv(listenFDEnv))
	os.Unsetenv(lockFDEnv) // children must not see them
	os.Unsetenv(listenFDEnv)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	syscall.CloseOnExec(lfd)
	syscall.CloseOnExec(sfd)
	f := os.NewFile(uintptr(lfd), h.PIDFile())
	sf := os.NewFile(uintptr(sfd), h.Socket())
	defer sf.Close()
	ln, err := net.FileListener(sf)
	if err != nil || syscall.Flock(lfd, syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		f.Close()
		if ln != nil {
			ln.Close()
		}
		return nil, false
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(true)
	}
	return &Lock{f: f, h: h, ln: ln}, true
}

// Acquire takes the home's daemon lock, or fails with [ErrRunning] naming the
// pid that holds it. The lock is an flock, so it dies with its holder: a
// crashed daemon never blocks the next one.
func Acquire(h Home) (*Lock, error) {
	if err := h.Ensure(); err != nil {
		return nil, err
	}
	if l, ok := inherited(h); ok {
		return l, nil
	}
	f, err := os.OpenFile(h.PIDFile(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", h.PIDFile(), err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		pid := strings.TrimSpace(string(b[:n]))
		return nil, fmt.Errorf("%w (pid %s) for VELOS_HOME=%s", ErrRunning, pid, h.Dir)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f, h: h}, nil
}

// Release gives the lock up.
func (l *Lock) Release() error {
	_ = l.f.Truncate(0)
	return l.f.Close()
}

// Listen opens the daemon socket with mode 0600. Holding the lock proves any
// socket file already there is stale (left by a daemon that crashed), so it
// is replaced.
func (l *Lock) Listen() (net.Listener, error) {
	if ln := l.ln; ln != nil {
		l.ln = nil
		return ln, nil
	}
	path := l.h.Socket()
	// sun_path holds 108 bytes on Linux, 104 on macOS, the NUL included.
	if len(path) > 103 {
		return nil, fmt.Errorf("socket path %s is %d bytes, longer than a unix socket allows (103): use a shorter VELOS_HOME", path, len(path))
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	// umask rather than a chmod after listen: no moment when others could connect.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	return ln, nil
}

// held reports whether a daemon holds the home's lock right now.
func held(h Home) bool {
	f, err := os.Open(h.PIDFile())
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return true
	}
	return false
}
