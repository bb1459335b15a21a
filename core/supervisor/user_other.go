//go:build !unix

package supervisor

import (
	"errors"
	"os/exec"
)

// identity is unused where processes cannot change identity.
type identity struct{}

// identityFor refuses user and group where processes cannot change identity.
func identityFor(spec Spec) (*identity, error) {
	if spec.User != "" || spec.Group != "" {
		return nil, errors.New("user and group are not supported on this system")
	}
	return nil, nil
}

func (id *identity) apply(*exec.Cmd) {}

func (id *identity) uid() uint32 { return 0 }
