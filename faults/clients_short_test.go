//go:build linux && !faults

package faults

import (
	"testing"
	"time"
)

// TestConcurrentClientsShort is the 10-second run of the concurrent
// clients that make test runs (make test-faults runs the 60-second one).
func TestConcurrentClientsShort(t *testing.T) {
	runClients(t, 50, 10*time.Second)
}
