//go:build !unix

package supervisor

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// Process groups are a unix notion; elsewhere only the leader is signalled
// until a job-object based implementation lands.
func setProcessGroup(cmd *exec.Cmd) {}

func signalGroup(pid int, sig syscall.Signal) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

func killGroup(pid int) { signalGroup(pid, syscall.SIGKILL) }

func exitOf(ps *os.ProcessState, err error) Exit {
	if ps == nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			ps = ee.ProcessState
		}
	}
	if ps == nil {
		return Exit{Code: -1}
	}
	return Exit{Code: ps.ExitCode()}
}
