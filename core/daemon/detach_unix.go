//go:build unix

package daemon

import (
	"os/exec"
	"syscall"
)

// detach puts the daemon in its own session, so the terminal's hangup and
// Ctrl-C reach the CLI, never the daemon.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
