//go:build !linux

package main

import (
	"testing"

	"github.com/velos-pm/velos/internal/testenv"
)

// runMonit needs a pseudo-terminal, opened here with Linux ioctls.
func runMonit(t *testing.T, _ *testenv.Env) {
	t.Log("velos monit: not run (pseudo-terminals are opened with Linux ioctls)")
}
