//go:build !linux

package supervisor

import "errors"

// Environ is not read from a running process on this system.
func Environ(pid int) ([]string, error) {
	return nil, errors.New("reading a running process's environment needs Linux")
}
