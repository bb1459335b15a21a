//go:build !unix

package main

import "time"

// cpuTime is not measured on this platform; the table shows wall time only.
func cpuTime() time.Duration { return 0 }
