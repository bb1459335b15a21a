//go:build !unix

package main

import (
	"errors"
	"os"
	"os/exec"
)

// execve runs exe args… with this process's streams and returns its exit
// code: without exec(2), the CLI waits for the daemon in its place.
func execve(exe string, args []string) (int, error) {
	cmd := exec.Command(exe, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}
