package spec

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// How the instances of a process share its port ([Spec.Balance]).
const (
	// BalanceSocket: Velos binds the port once and every instance gets the
	// socket as fd 3 (LISTEN_FDS, systemd socket activation); the kernel
	// spreads connections.
	BalanceSocket = "socket"
	// BalanceRoundRobin and BalanceLeastConn: Velos's balancer listens on the
	// port and each instance listens on a loopback PORT of its own.
	BalanceRoundRobin = "round-robin"
	BalanceLeastConn  = "least-conn"
)

// Sharing says whether Velos binds a port for the process up front, and
// how its instances share it. The address is Listen, or, when Listen is
// unset and Mode is not fork, ":$PORT" (the PORT env var) for a cluster
// (Mode cluster or more than one instance). Balance defaults to socket for
// Node (the preload makes listen(PORT) take the socket) and to round-robin
// for other programs, which cannot be expected to read LISTEN_FDS. An empty
// address means Velos binds nothing up front; a single Node instance then
// has its listening sockets learnt from its first run instead (see the
// preload), so that restarts and reloads reuse them.
func (s Spec) Sharing() (addr, balance string, err error) {
	node := len(s.Command) > 0 && IsNode(s.Command[0])
	addr = s.Listen
	if s.Mode == "fork" && addr != "" {
		return "", "", fmt.Errorf("%s: listen needs mode = \"cluster\" (or no mode): in fork mode each instance binds its own port", s.Name)
	}
	if addr == "" && s.Mode != "fork" && (s.Instances > 1 || s.Mode == "cluster") {
		if port, err := strconv.Atoi(s.Env["PORT"]); err == nil && port > 0 && port < 65536 {
			addr = ":" + strconv.Itoa(port)
		}
	}
	if addr == "" {
		switch {
		case s.Mode == "cluster" && !node:
			return "", "", fmt.Errorf("%s: cluster mode needs the port its instances share: set listen (e.g. listen = 3000) or the PORT env var", s.Name)
		case s.Balance != "":
			return "", "", fmt.Errorf("%s: balance needs a port to balance: set listen or the PORT env var", s.Name)
		}
		return "", "", nil
	}
	balance = s.Balance
	if balance == "" {
		balance = BalanceRoundRobin
		if node {
			balance = BalanceSocket
		}
	}
	if balance == BalanceSocket && !s.WaitReady {
		// Every instance answers on the shared port: a probe there cannot
		// tell the new instance of a reload from the old (with wait_ready,
		// the instance's own READY=1 does, and the probe only adds a gate).
		port := strconv.Itoa(portOf(addr))
		for _, k := range []struct{ key, v string }{{"ready_tcp", s.ReadyTCP}, {"ready_http", s.ReadyHTTP}} {
			if k.v != "" && (strings.Contains(k.v, "$PORT") || strings.Contains(k.v, "${PORT}") || strings.Contains(k.v, ":"+port)) {
				return "", "", fmt.Errorf("%s: %s probes the shared port %s, which every instance answers: use wait_ready (READY=1 / process.send('ready')), a health port of each instance's own, or balance = \"round-robin\"", s.Name, k.key, port)
			}
		}
	}
	if balance == BalanceSocket {
		if !socketSharing {
			return "", "", fmt.Errorf("%s: balance = \"socket\" needs unix fd passing; use balance = \"round-robin\" here", s.Name)
		}
	}
	return addr, balance, nil
}

// Learns reports whether runs of s have their listening sockets learnt:
// a Node program with no port given (neither listen nor, for a cluster,
// PORT), not in fork mode. The first instance binds as it likes and hands
// its sockets over; the others, and every restart and reload, take them.
func (s Spec) Learns() bool {
	if len(s.Command) == 0 || !IsNode(s.Command[0]) || s.Mode == "fork" {
		return false
	}
	addr, _, err := s.Sharing()
	return err == nil && addr == ""
}

// IsNode reports whether cmd runs Node.js.
func IsNode(cmd string) bool {
	switch strings.TrimSuffix(filepath.Base(cmd), ".exe") {
	case "node", "nodejs":
		return true
	}
	return false
}

// portOf is the port number of a "HOST:PORT" address, 0 if it has none.
func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}
