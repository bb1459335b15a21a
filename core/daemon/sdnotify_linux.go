//go:build linux

package daemon

import (
	"fmt"
	"net"
)

const notifySupported = true

// sendNotify writes one datagram to the manager's socket. A name starting
// with @ is an abstract socket: Go maps a leading @ to the NUL byte the
// kernel expects.
func sendNotify(socket, state string) error {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", socket, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %s: %w", socket, err)
	}
	return nil
}
