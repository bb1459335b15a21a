package main

import (
	"fmt"
	"io"
	"os"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/tool"
)

// daemonCmd is `velos daemon`: velosd in the foreground, with the same
// arguments. Main runs it before the parser (execDaemon); this struct is
// what help shows.
type daemonCmd struct {
	Args []string `arg:"" optional:"" passthrough:"" help:"velosd's flags: --resurrect, --metrics-addr, --metrics-allow-remote, --sample-interval (velos daemon --help)."`
}

// execDaemon replaces this process with the velosd installed beside it
// (else on PATH), so systemd's main pid, its notify socket and a
// container's signals reach the daemon itself.
func execDaemon(args []string, stderr io.Writer) int {
	exe, err := os.Executable()
	if err == nil {
		exe, err = daemon.Companion(exe, daemon.DaemonName)
	}
	if err != nil {
		fmt.Fprintln(stderr, "velos daemon:", err)
		return exitDaemon
	}
	code, err := execve(exe, args)
	if err != nil {
		fmt.Fprintf(stderr, "velos daemon: run %s: %v\n", exe, err)
		return exitDaemon
	}
	return code
}

// Run is reached when the parser sees daemon after global flags
// (velos --json daemon); Main's early path handles the usual spelling.
func (c daemonCmd) Run(t *tool.Term) error {
	if code := execDaemon(c.Args, t.Err); code != exitOK {
		return exitCode(code)
	}
	return nil
}

// exitCode is an exit code already explained on stderr.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
