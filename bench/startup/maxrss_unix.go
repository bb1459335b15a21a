//go:build unix

package main

import (
	"os"
	"syscall"
)

// maxRSS is a finished child's peak resident set, in bytes.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss) * 1024 // Linux reports KiB
	}
	return 0
}
