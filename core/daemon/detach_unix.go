//go:build unix

package daemon

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// detach puts the daemon in its own session, so the terminal's hangup and
// Ctrl-C reach the CLI, never the daemon.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }

// lockSpawn holds $VELOS_HOME/spawn.lock until unlock is called.
func lockSpawn(h Home) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(h.Dir, "spawn.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("start daemon: lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}
