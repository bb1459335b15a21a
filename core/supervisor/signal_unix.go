//go:build unix

package supervisor

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// sendSignal signals a pid, or a process group when dest is negative.
func sendSignal(dest int, sig syscall.Signal) error { return syscall.Kill(dest, sig) }

// LookupSignal reads any signal of this system by name ("SIGUSR2", "USR2",
// case aside) or number ("12"), for velos signal. Kill signals in a config
// are the narrower [ParseSignal].
func LookupSignal(name string) (syscall.Signal, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if i, err := strconv.Atoi(n); err == nil && i > 0 && i < 65 {
		return syscall.Signal(i), nil
	}
	if !strings.HasPrefix(n, "SIG") {
		n = "SIG" + n
	}
	if s := unix.SignalNum(n); s != 0 {
		return s, nil
	}
	return 0, fmt.Errorf("unknown signal %q (e.g. SIGUSR2, SIGHUP, SIGTERM, or a number)", name)
}

// SignalName names a signal: "SIGUSR2".
func SignalName(s syscall.Signal) string {
	if n := unix.SignalName(s); n != "" {
		return n
	}
	return "signal " + strconv.Itoa(int(s))
}
