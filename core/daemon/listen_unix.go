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
	f *os.File
	h Home
}

// Acquire takes the home's daemon lock, or fails with [ErrRunning] naming the
// pid that holds it. The lock is an flock, so it dies with its holder: a
// crashed daemon never blocks the next one.
func Acquire(h Home) (*Lock, error) {
	if err := h.Ensure(); err != nil {
		return nil, err
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
