// Package daemon holds the mechanics of the velos daemon that do not depend on
// what it serves: where its files live, the one-daemon-per-home lock, the
// unix socket (with stale-socket recovery), the accept loop, and starting a
// daemon on demand from a client.
package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Home is a VELOS_HOME: the folder holding the socket, logs and state.
type Home struct{ Dir string }

// DefaultHome is $VELOS_HOME, or ~/.velos.
func DefaultHome() (Home, error) {
	if d := os.Getenv("VELOS_HOME"); d != "" {
		abs, err := filepath.Abs(d)
		if err != nil {
			return Home{}, fmt.Errorf("VELOS_HOME %s: %w", d, err)
		}
		return Home{Dir: abs}, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return Home{}, fmt.Errorf("find home folder (set VELOS_HOME): %w", err)
	}
	return Home{Dir: filepath.Join(h, ".velos")}, nil
}

// Socket is the daemon's unix socket.
func (h Home) Socket() string { return filepath.Join(h.Dir, "velos.sock") }

// Logs is the folder of process logs.
func (h Home) Logs() string { return filepath.Join(h.Dir, "logs") }

// Run is the folder of per-process sockets (NOTIFY_SOCKET) and the Node
// preload.
func (h Home) Run() string { return filepath.Join(h.Dir, "run") }

// DaemonLog is the daemon's own log.
func (h Home) DaemonLog() string { return filepath.Join(h.Dir, "daemon.log") }

// PIDFile holds the running daemon's pid; it is also the lock file.
func (h Home) PIDFile() string { return filepath.Join(h.Dir, "daemon.pid") }

// Dump is the saved process list.
func (h Home) Dump() string { return filepath.Join(h.Dir, "dump.toml") }

// Ensure creates the home folder (0700: the socket gives control of processes).
func (h Home) Ensure() error {
	if err := os.MkdirAll(h.Logs(), 0o700); err != nil {
		return fmt.Errorf("create VELOS_HOME %s: %w", h.Dir, err)
	}
	return nil
}

// ErrRunning is returned when another daemon holds this home.
var ErrRunning = errors.New("a velos daemon is already running")

// ErrNotRunning is returned by clients that must not start a daemon.
var ErrNotRunning = errors.New("the velos daemon is not running")
