//go:build !unix

package supervisor

import (
	"errors"
	"os"
	"syscall"
)

// sendSignal: only the kill signal can be delivered off unix.
func sendSignal(dest int, sig syscall.Signal) error {
	if dest < 0 || sig != syscall.SIGKILL {
		return errors.New("only SIGKILL to one process can be sent on this system")
	}
	p, err := os.FindProcess(dest)
	if err != nil {
		return err
	}
	return p.Kill()
}

// LookupSignal reads the signals this system names (see [ParseSignal]).
func LookupSignal(name string) (syscall.Signal, error) { return ParseSignal(name) }

// SignalName names a signal.
func SignalName(s syscall.Signal) string { return s.String() }
