//go:build !unix

package main

import (
	"os"
	"time"
)

// cpuTime is not measured on this platform; the table shows wall time only.
func cpuTime() time.Duration { return 0 }

// childUsage is a finished child's CPU time; its memory is not measured
// on this platform.
func childUsage(ps *os.ProcessState) (time.Duration, int64) {
	return ps.UserTime() + ps.SystemTime(), 0
}
