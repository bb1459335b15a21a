//go:build unix

package main

import (
	"os"
	"syscall"
	"time"
)

// cpuTime returns the process's user+system CPU time, which, unlike wall
// time, does not grow when other programs compete for the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childUsage is a finished child's user+system CPU time and its maximum
// resident set size in bytes.
func childUsage(ps *os.ProcessState) (time.Duration, int64) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return ps.UserTime() + ps.SystemTime(), 0
	}
	return ps.UserTime() + ps.SystemTime(), ru.Maxrss * 1024 // Linux reports KiB
}
