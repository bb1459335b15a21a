//go:build !unix

package daemon

import (
	"errors"
	"net"
)

var errUnsupported = errors.New("the velos daemon is not supported on this OS yet")

// Lock is the proof that this process is the one daemon of a home.
type Lock struct{}

// Acquire is not supported on this OS yet.
func Acquire(h Home) (*Lock, error) { return nil, errUnsupported }

// Release gives the lock up.
func (l *Lock) Release() error { return nil }

// Listen is not supported on this OS yet.
func (l *Lock) Listen() (net.Listener, error) { return nil, errUnsupported }

func held(h Home) bool { return false }

// Pass is not supported on this OS yet.
func (l *Lock) Pass(net.Listener) ([]string, error) { return nil, errUnsupported }

// Unpass is not supported on this OS yet.
func (l *Lock) Unpass() (net.Listener, error) { return nil, errUnsupported }
