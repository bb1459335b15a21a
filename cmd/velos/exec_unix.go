//go:build unix

package main

import (
	"os"
	"syscall"
)

// execve replaces the process with exe args…; it returns only on failure.
func execve(exe string, args []string) (int, error) {
	return 0, syscall.Exec(exe, append([]string{exe}, args...), os.Environ())
}
