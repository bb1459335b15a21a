// Package balance is Velos's TCP balancer for cluster mode, for apps that can
// only bind a port of their own: it listens on the public address and spreads
// connections over instances that each listen on a loopback port.
//
// It is built so that restarts and rolling reloads lose no request:
//
//   - a dial that fails (an instance gone between two instants) is retried on
//     another instance before anything reached the client, and so is a
//     connection the instance accepts and closes before a byte passed (its
//     backlog dropped as it stops);
//   - with no instance in rotation (a single instance restarting) a new
//     connection waits, bounded by [WithWaitTimeout], instead of being reset,
//     and instances that refused are tried again meanwhile (an instance back
//     on the same port is found without [Balancer.Add]);
//   - [Balancer.Drain] takes an instance out of rotation and waits for its
//     connections to end. Where the stream is HTTP/1.x, a keep-alive
//     connection leaves the drained instance at the next request boundary
//     (no request in flight): its next request goes to an instance in
//     rotation, so clients that hold connections open neither pin the old
//     instance nor see it stop. The same happens when an instance closes an
//     idle keep-alive connection (its idle timeout, or its shutdown). A
//     connection on which nothing was sent yet moves at once. Other streams
//     run to their end.
//
// Streams that look like HTTP/1.x (the client's first bytes are a request
// line) are observed — request and response heads and body framing, never
// changing a byte — to count requests and measure latency per instance;
// bodies of known length from 64 KiB up are moved by the kernel. Other
// streams (or HTTP after an Upgrade) are moved by the kernel (splice on
// Linux) and only counted as connections.
//
// Dead peers: accepted connections keep the listener's TCP keep-alive (Go's
// default for net.Listen: probes after 15 s idle, so a vanished client is
// dropped within about 2.5 minutes); once one side has ended, the other may
// stay idle for [WithHalfCloseTimeout] at most.
package balance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Strategy says how the balancer picks an instance for a new connection.
type Strategy string

const (
	// RoundRobin takes the instances in rotation in turn, by id.
	RoundRobin Strategy = "round-robin"
	// LeastConn takes the instance with the fewest open connections; ties
	// go round-robin.
	LeastConn Strategy = "least-conn"
)

// ParseStrategy checks a strategy name.
func ParseStrategy(s string) (Strategy, error) {
	switch st := Strategy(s); st {
	case RoundRobin, LeastConn:
		return st, nil
	}
	return "", fmt.Errorf("balance strategy %q: want %q or %q", s, RoundRobin, LeastConn)
}

// ErrUnknownInstance is returned by [Balancer.Drain] for an id that was
// never added or was removed.
var ErrUnknownInstance = errors.New("unknown instance")

// Backend describes one instance as the balancer sees it.
type Backend struct {
	ID         int
	Addr       string
	InRotation bool  // new connections may go to it
	Active     int64 // connections open to it now (including ones being dialled)
	Total      int64 // connections made to it
	DialErrors int64 // dials that failed (each retried elsewhere)

	// HTTP/1.x only (HTTP is true once a request was seen on it).
	HTTP        bool
	Requests    int64         // request heads sent to it
	RequestRate float64       // requests per second over the last ~10 s
	LatencyP50  time.Duration // request head to first response byte, last ~10 s
	LatencyP99  time.Duration
}

// Option tunes a [Balancer].
type Option func(*options)

type options struct {
	waitTimeout      time.Duration
	dialTimeout      time.Duration
	halfCloseTimeout time.Duration
	sniffTimeout     time.Duration
	onWait           func()       // tests: a connection found no instance to dial and waits
	onRelease        func(id int) // tests: a connection to instance id has ended
	onDial           func(id int) // tests: a connection to instance id is open
}

// WithWaitTimeout bounds how long a new connection waits for an instance to
// be in rotation (or to accept) before it is closed. Default 30 s.
func WithWaitTimeout(d time.Duration) Option { return func(o *options) { o.waitTimeout = d } }

// WithDialTimeout bounds one dial to an instance; a dial that times out is
// retried on another. Default 5 s.
func WithDialTimeout(d time.Duration) Option { return func(o *options) { o.dialTimeout = d } }

// WithHalfCloseTimeout bounds how long the direction still open may stay
// idle once the other has ended (a peer that half-closed and never closes).
// Default 60 s.
func WithHalfCloseTimeout(d time.Duration) Option {
	return func(o *options) { o.halfCloseTimeout = d }
}

// failPenalty keeps an instance whose dial just failed behind the others for
// a moment, so a burst of connections does not try it one by one.
const failPenalty = 500 * time.Millisecond

// Balancer accepts connections on a listener and relays each to an instance.
type Balancer struct {
	ln       net.Listener
	strategy Strategy
	log      *slog.Logger
	opt      options
	dialer   net.Dialer
	ctx      context.Context // cancelled by Close
	cancel   context.CancelFunc

	mu       sync.Mutex
	backends map[int]*backend
	order    []*backend    // by id: the round-robin order
	next     int           // where the next pick starts in order
	changed  chan struct{} // closed (and replaced) when an instance enters rotation
	conns    map[*proxyConn]struct{}
	closed   bool

	wg sync.WaitGroup // the accept loop and every connection goroutine

	small, large sync.Pool // read buffers (*[]byte)
}

type backend struct {
	id    int
	since time.Time

	// Under Balancer.mu.
	addr        string
	inRotation  bool
	active      int64
	total       int64
	dialErrors  int64
	failedUntil time.Time
	drained     chan struct{} // closed when active reaches 0, while someone drains

	draining atomic.Bool // read by connections without Balancer.mu
	http     atomic.Bool
	stats    window
}

// New starts serving ln, which the balancer now owns, and returns at once.
// Connections accepted before an instance is added wait for one. It panics
// on a strategy other than [RoundRobin] or [LeastConn] (check user input
// with [ParseStrategy]). A nil log discards.
func New(ln net.Listener, s Strategy, log *slog.Logger, opts ...Option) *Balancer {
	if _, err := ParseStrategy(string(s)); err != nil {
		panic("balance.New: " + err.Error())
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := options{
		waitTimeout:      30 * time.Second,
		dialTimeout:      5 * time.Second,
		halfCloseTimeout: 60 * time.Second,
		sniffTimeout:     2 * time.Second,
	}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Balancer{
		ln: ln, strategy: s, log: log, opt: o, ctx: ctx, cancel: cancel,
		// No TCP keep-alive towards instances: they are local, and the
		// kernel closes a dead process's sockets (it saves four
		// setsockopt calls per connection).
		dialer:   net.Dialer{Timeout: o.dialTimeout, KeepAlive: -1},
		backends: map[int]*backend{},
		changed:  make(chan struct{}),
		conns:    map[*proxyConn]struct{}{},
	}
	b.small.New = func() any { buf := make([]byte, smallBuf); return &buf }
	b.large.New = func() any { buf := make([]byte, largeBuf); return &buf }
	b.wg.Add(1)
	go b.acceptLoop()
	return b
}

// Addr is the address the balancer listens on.
func (b *Balancer) Addr() net.Addr { return b.ln.Addr() }

// Add puts instance id, listening on addr ("127.0.0.1:PORT"), in rotation.
// Adding an id again updates its address and puts it back in rotation;
// connections already open stay where they are.
func (b *Balancer) Add(id int, addr string) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		b.log.Error("balancer: instance not added: bad address", "instance", id, "addr", addr, "err", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	be := b.backends[id]
	if be == nil {
		be = &backend{id: id, since: time.Now()}
		be.stats.since = be.since
		b.backends[id] = be
		i, _ := slices.BinarySearchFunc(b.order, id, func(x *backend, id int) int { return x.id - id })
		b.order = slices.Insert(b.order, i, be)
	}
	be.addr, be.inRotation, be.failedUntil = addr, true, time.Time{}
	be.draining.Store(false)
	close(b.changed)
	b.changed = make(chan struct{})
}

// Drain takes instance id out of rotation at once, then waits until the
// connections open to it have ended, or ctx is done (then it returns ctx's
// error and leaves them to the caller, who stops the instance). HTTP/1.x
// keep-alive connections move to other instances at their next request
// boundary, so Drain returns as soon as no request is in flight on it.
func (b *Balancer) Drain(ctx context.Context, id int) error {
	b.mu.Lock()
	be := b.backends[id]
	if be == nil {
		b.mu.Unlock()
		return fmt.Errorf("drain instance %d: %w", id, ErrUnknownInstance)
	}
	be.inRotation = false
	be.draining.Store(true)
	conns := make([]*proxyConn, 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	b.mu.Unlock()

	for _, c := range conns {
		c.drain(be)
	}

	b.mu.Lock()
	if be.active == 0 {
		b.mu.Unlock()
		return nil
	}
	if be.drained == nil {
		be.drained = make(chan struct{})
	}
	done := be.drained
	b.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		n := be.active
		b.mu.Unlock()
		return fmt.Errorf("drain instance %d: %d connections still open: %w", id, n, ctx.Err())
	}
}

// Remove forgets instance id (once it has stopped). Connections still open
// to it run on until they end.
func (b *Balancer) Remove(id int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	be := b.backends[id]
	if be == nil {
		return
	}
	be.inRotation = false
	delete(b.backends, id)
	i := slices.Index(b.order, be)
	b.order = slices.Delete(b.order, i, i+1)
	if b.next > i {
		b.next--
	}
}

// Stats describes every instance, by id.
func (b *Balancer) Stats() []Backend {
	now := time.Now()
	b.mu.Lock()
	out := make([]Backend, len(b.order))
	for i, be := range b.order {
		out[i] = Backend{ID: be.id, Addr: be.addr, InRotation: be.inRotation,
			Active: be.active, Total: be.total, DialErrors: be.dialErrors}
	}
	order := slices.Clone(b.order)
	b.mu.Unlock()
	for i, be := range order {
		o := &out[i]
		o.HTTP = be.http.Load()
		o.Requests, o.RequestRate, o.LatencyP50, o.LatencyP99 = be.stats.snapshot(now)
	}
	return out
}

// Close stops accepting, closes every connection and returns once no
// goroutine of the balancer is left.
func (b *Balancer) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	conns := make([]*proxyConn, 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	b.mu.Unlock()
	b.cancel()
	err := b.ln.Close()
	for _, c := range conns {
		c.abort()
	}
	b.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close balancer listener: %w", err)
	}
	return nil
}

func (b *Balancer) acceptLoop() {
	defer b.wg.Done()
	var delay time.Duration
	for {
		conn, err := b.ln.Accept()
		if err != nil {
			if b.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			b.log.Warn("balancer: accept", "err", err, "retry_in", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-b.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		c := &proxyConn{b: b, client: conn}
		c.cond.L = &c.mu
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			conn.Close()
			return
		}
		b.conns[c] = struct{}{}
		b.wg.Add(1)
		b.mu.Unlock()
		go c.serve()
	}
}

func (b *Balancer) forget(c *proxyConn) {
	b.mu.Lock()
	delete(b.conns, c)
	b.mu.Unlock()
}

var errNoInstance = errors.New("no instance in rotation accepted a connection in time")

// connect picks an instance and dials it, trying the others when a dial
// fails, and waiting (bounded by the wait timeout) while none is in
// rotation or all refuse. The instance's active count includes the result.
func (b *Balancer) connect(ctx context.Context) (*backend, net.Conn, error) {
	deadline := time.Now().Add(b.opt.waitTimeout)
	var tried []*backend
	retry := 20 * time.Millisecond
	waited := false
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, nil, net.ErrClosed
		}
		be := b.pickLocked(tried)
		if be == nil {
			changed := b.changed
			b.mu.Unlock()
			left := time.Until(deadline)
			if left <= 0 {
				return nil, nil, errNoInstance
			}
			if !waited {
				waited = true
				if b.opt.onWait != nil {
					b.opt.onWait()
				}
			}
			d := left
			if len(tried) > 0 {
				d = min(d, retry) // the instances that refused may be back (a restart on the same port)
			}
			t := time.NewTimer(d)
			select {
			case <-changed:
				tried = tried[:0]
			case <-t.C:
				if len(tried) > 0 {
					tried, retry = tried[:0], min(2*retry, time.Second)
				}
			case <-ctx.Done():
				t.Stop()
				return nil, nil, ctx.Err()
			}
			t.Stop()
			continue
		}
		be.active++
		addr := be.addr
		b.mu.Unlock()

		conn, err := b.dialer.DialContext(ctx, "tcp", addr)
		b.mu.Lock()
		if err == nil {
			be.total++
			b.mu.Unlock()
			if b.opt.onDial != nil {
				b.opt.onDial(be.id)
			}
			return be, conn, nil
		}
		be.dialErrors++
		be.failedUntil = time.Now().Add(failPenalty)
		b.releaseLocked(be)
		b.mu.Unlock()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		b.log.Debug("balancer: dial failed, trying another instance", "instance", be.id, "addr", addr, "err", err)
		tried = append(tried, be)
	}
}

// pickLocked chooses an instance in rotation, not in tried, preferring ones
// whose last dial did not just fail.
func (b *Balancer) pickLocked(tried []*backend) *backend {
	n := len(b.order)
	var now time.Time
	best, bestAt, bestPenalised := (*backend)(nil), 0, false
	for k := range n {
		at := (b.next + k) % n
		be := b.order[at]
		if !be.inRotation || slices.Contains(tried, be) {
			continue
		}
		penalised := false
		if !be.failedUntil.IsZero() {
			if now.IsZero() {
				now = time.Now()
			}
			penalised = now.Before(be.failedUntil)
		}
		better := best == nil || bestPenalised && !penalised
		if !better && b.strategy == LeastConn && penalised == bestPenalised {
			better = be.active < best.active
		}
		if better {
			best, bestAt, bestPenalised = be, at, penalised
			if b.strategy == RoundRobin && !penalised {
				break
			}
		}
	}
	if best != nil {
		b.next = (bestAt + 1) % n
	}
	return best
}

// penalise puts be behind the others for a moment (it just closed a
// connection before a byte passed).
func (b *Balancer) penalise(be *backend) {
	b.mu.Lock()
	be.failedUntil = time.Now().Add(failPenalty)
	b.mu.Unlock()
}

// release ends one connection to be.
func (b *Balancer) release(be *backend) {
	b.mu.Lock()
	b.releaseLocked(be)
	b.mu.Unlock()
	if b.opt.onRelease != nil {
		b.opt.onRelease(be.id)
	}
}

func (b *Balancer) releaseLocked(be *backend) {
	be.active--
	if be.active == 0 && be.drained != nil {
		close(be.drained)
		be.drained = nil
	}
}
