package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
)

// ErrPortInUse is returned by [Endpoint.Serve] when the address is taken.
var ErrPortInUse = errors.New("address already in use")

// Endpoint is a daemon's one /metrics server: at most one listener for the
// daemon's lifetime, so asking to serve twice answers with the address
// already served instead of a second server or an error.
type Endpoint struct {
	ctx context.Context
	src Source

	mu   sync.Mutex
	addr string
}

// NewEndpoint returns an Endpoint that, once started, serves src until ctx
// (the daemon's lifetime) is done. Nothing listens until [Endpoint.Serve].
func NewEndpoint(ctx context.Context, src Source) *Endpoint {
	return &Endpoint{ctx: ctx, src: src}
}

// Serve starts serving on addr (see [Serve] for the loopback rules) and
// returns the bound address. When the endpoint already serves, it returns
// that address with already set and ignores addr.
func (e *Endpoint) Serve(addr string, opts ...ServeOption) (bound string, already bool, err error) {
	var cfg serveConfig
	for _, o := range opts {
		o(&cfg)
	}
	// The policy holds even when already serving: a refused address must
	// not read as a success.
	if _, err := listenAddr(addr, cfg.allowRemote); err != nil {
		return "", false, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.addr != "" {
		return e.addr, true, nil
	}
	bound, err = Serve(e.ctx, addr, e.src, opts...)
	if errors.Is(err, syscall.EADDRINUSE) {
		return "", false, fmt.Errorf("port %s (%s): %w; pick another port", portOf(addr), addr, ErrPortInUse)
	}
	if err != nil {
		return "", false, err
	}
	e.addr = bound
	return bound, false, nil
}

// Addr is the address served, "" when not serving.
func (e *Endpoint) Addr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addr
}

// portOf is addr's port, for messages.
func portOf(addr string) string {
	if _, p, err := net.SplitHostPort(addr); err == nil {
		return p
	}
	return addr
}
