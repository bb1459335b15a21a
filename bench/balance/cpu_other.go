//go:build !unix

package main

import (
	"runtime"
	"time"
)

// cpuTime is not measured on this platform; the tables show "-".
func cpuTime() time.Duration { return 0 }

func cpus() int { return runtime.NumCPU() }
