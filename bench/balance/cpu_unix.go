//go:build unix

package main

import (
	"syscall"
	"time"
)

// cpuTime returns this process's user+system CPU time: during a wrk run it
// is the balancer's, whatever else competes for the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
