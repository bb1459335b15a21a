//go:build linux && faults

package faults

import (
	"testing"
	"time"
)

// TestConcurrentClients: 50 clients, half through the CLI and half over
// MCP, issue mixed operations for 60 seconds: no call waits for ever, no
// process is lost or doubled, the state file is valid.
func TestConcurrentClients(t *testing.T) {
	runClients(t, 50, 60*time.Second)
}
