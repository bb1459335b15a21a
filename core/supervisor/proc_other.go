//go:build !unix

package supervisor

import (
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

func continueGroup(int) {}

// signalOf is "": only unix reports death by signal.
func signalOf(ps *os.ProcessState) string { return "" }
