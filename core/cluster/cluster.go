// Package cluster holds what lets several instances of one program serve one
// port: the listening socket Velos binds once and hands to every instance
// (systemd socket activation: LISTEN_FDS), free loopback ports for instances
// behind Velos's balancer, and the Node preload that makes an unmodified
// server.listen(PORT) use the inherited socket.
package cluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

// Listen binds addr ("HOST:PORT", host empty for every interface) as a TCP
// listening socket to share with instances. A port already taken says by
// whom when that can be found.
func Listen(addr string) (*net.TCPListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			_, port, _ := net.SplitHostPort(addr)
			if who := portOwner(port); who != "" {
				return nil, fmt.Errorf("listen %s: the port is in use by %s", addr, who)
			}
			return nil, fmt.Errorf("listen %s: the port is in use by another program", addr)
		}
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln.(*net.TCPListener), nil
}

// File returns a duplicate of ln's socket to pass to a child: the child's
// copy stays open when ours closes, and ours when the child exits.
func File(ln *net.TCPListener) (*os.File, error) {
	f, err := ln.File()
	if err != nil {
		return nil, fmt.Errorf("share %s: %w", ln.Addr(), err)
	}
	return f, nil
}

// FreePort returns a loopback TCP port nobody listens on at this instant,
// for an instance behind the balancer. Another program could take it before
// the instance binds it; the instance then fails to start and is restarted
// with another port.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Port returns the port number of a "HOST:PORT" address, 0 if it has none.
func Port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}
