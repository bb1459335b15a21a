package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"
)

// ReadyFDEnv names the file descriptor on which a daemon started by [Dial]
// reports that it listens: "ok", or the error that stopped it.
const ReadyFDEnv = "VELOS_READY_FD"

// ErrStart wraps every reason a daemon could not be started on demand.
var ErrStart = errors.New("could not start the daemon")

// Dial connects to the home's daemon. When none answers and autostart is
// set, it starts the velosd installed with cli, the CLI's own binary (see
// [Companion]), in the background (like PM2) and connects once that daemon
// says it is listening.
func Dial(h Home, autostart bool, cli string) (net.Conn, error) {
	c, err := net.Dial("unix", h.Socket())
	if err == nil || !autostart {
		if err != nil {
			return nil, fmt.Errorf("%w (VELOS_HOME=%s)", ErrNotRunning, h.Dir)
		}
		return c, nil
	}
	if err := h.Ensure(); err != nil {
		return nil, err
	}
	// Clients that find no daemon at the same moment take turns: the first
	// starts one, the others then find it listening.
	unlock, err := lockSpawn(h)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// A daemon that holds the lock but does not answer is on its way out
	// (velos kill just returned) or about to listen: wait for either.
	if c, err := waitAnswerOrGone(h, 10*time.Second); c != nil || err != nil {
		return c, err
	}
	exe, err := Companion(cli, DaemonName)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	if err := spawn(h, exe); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	c, err = net.Dial("unix", h.Socket())
	if err != nil {
		return nil, fmt.Errorf("connect to the daemon it started: %w", err)
	}
	return c, nil
}

// waitAnswerOrGone returns a connection once the daemon answers, or nil once
// no daemon holds the home; an error when one holds it but never answers.
func waitAnswerOrGone(h Home, timeout time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(timeout)
	for {
		if c, err := net.Dial("unix", h.Socket()); err == nil {
			return c, nil
		}
		if !held(h) {
			return nil, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: a daemon holds %s but does not answer on %s; see %s", ErrStart, h.PIDFile(), h.Socket(), h.DaemonLog())
		}
		time.Sleep(10 * time.Millisecond) // another process: no event to wait on
	}
}

// WaitStopped returns once no daemon holds the home (after velos kill), or
// an error after timeout.
func WaitStopped(h Home, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for held(h) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the daemon of %s is still running after %v; see %s", h.Dir, timeout, h.DaemonLog())
		}
		time.Sleep(10 * time.Millisecond) // another process: no event to wait on
	}
	return nil
}

// spawn starts the daemon binary exe and waits until it listens or fails.
func spawn(h Home, exe string) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	defer r.Close()
	logf, err := os.OpenFile(h.DaemonLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		w.Close()
		return fmt.Errorf("start daemon: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "VELOS_HOME="+h.Dir, ReadyFDEnv+"=3")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdout, cmd.Stderr = logf, logf // a panic's trace lands in daemon.log
	detach(cmd)
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start daemon %s: %w", exe, err)
	}
	w.Close()
	// The daemon outlives us; nothing to wait for once it has answered.
	go func() { _ = cmd.Wait() }()

	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		ch <- answer{strings.TrimSpace(line), err}
	}()
	select {
	case a := <-ch:
		switch {
		case a.line == "ok":
			return nil
		case a.line != "":
			return errors.New(a.line)
		default:
			return fmt.Errorf("the daemon exited before listening; see %s", h.DaemonLog())
		}
	case <-time.After(10 * time.Second):
		return fmt.Errorf("the daemon did not start listening within 10s; see %s", h.DaemonLog())
	}
}
