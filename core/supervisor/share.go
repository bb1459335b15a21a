package supervisor

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/cluster"
	"github.com/velos-pm/velos/core/spec"
)

// How the instances of a process share its port ([Spec.Balance]; see
// core/spec).
const (
	BalanceSocket     = spec.BalanceSocket
	BalanceRoundRobin = spec.BalanceRoundRobin
	BalanceLeastConn  = spec.BalanceLeastConn
)

// Balancer spreads the connections of one listener over instances (see
// core/balance). The Manager adds a run once it is ready and drains it
// before it is stopped.
type Balancer interface {
	Add(id int, addr string)
	Drain(ctx context.Context, id int) error
	Remove(id int)
	Close() error
}

// NewBalancer makes a [Balancer] serving ln with a strategy
// (BalanceRoundRobin or BalanceLeastConn).
type NewBalancer func(ln net.Listener, strategy string) Balancer

// share is the port(s) held for one process name: the listening sockets
// passed to instances, or the balancer in front of them. Each supervised
// instance holds a reference from launch to the end of its supervision, so
// the port stays bound across crashes and restarts (connections wait in the
// backlog instead of being refused) and is closed when none runs.
type share struct {
	name, addr, balance string
	port                int     // the public port
	socks               []*sock // socket mode: passed as fd 3, 4, …; the first is addr's
	learned             bool    // the sockets came from a run (see Spec.learns)
	ln                  net.Listener
	bal                 Balancer
	refs                int // guarded by Manager.mu
}

// sock is one listening socket passed to instances.
type sock struct {
	port int
	host string // the address it is bound to; "" for every interface
	file *os.File
}

// hostOf is the address a listening socket is bound to, "" for every
// interface.
func hostOf(f *os.File) string {
	ln, err := net.FileListener(f)
	if err != nil {
		return ""
	}
	defer ln.Close()
	if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsUnspecified() {
		return a.IP.String()
	}
	return ""
}

// fits reports whether runs of spec can keep using sh: its sockets were
// learnt and spec still learns, or spec asks for the same address and way.
func (sh *share) fits(spec Spec) bool {
	if sh.learned {
		return spec.Learns()
	}
	addr, balance, err := spec.Sharing()
	return err == nil && addr == sh.addr && balance == sh.balance
}

func (sh *share) ports() (ports, hosts string) {
	ps := make([]string, len(sh.socks))
	hs := make([]string, len(sh.socks))
	for i, s := range sh.socks {
		ps[i], hs[i] = strconv.Itoa(s.port), s.host
	}
	return strings.Join(ps, ","), strings.Join(hs, ",")
}

// acquireShare returns the process's share, binding the port if nobody of
// that name holds it yet; nil when Velos holds no port for spec.
func (m *Manager) acquireShare(spec Spec) (*share, error) {
	addr, balance, err := spec.Sharing()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if addr == "" {
		// A Node program whose sockets another instance already handed over.
		if sh := m.shares[spec.Name]; sh != nil && sh.learned && spec.Learns() {
			sh.refs++
			return sh, nil
		}
		return nil, nil
	}
	if sh := m.shares[spec.Name]; sh != nil {
		if sh.addr == addr && sh.balance == balance {
			sh.refs++
			return sh, nil
		}
		return nil, fmt.Errorf("%s: its instances hold %s (%s); stop them all before changing listen or balance to %s (%s)", spec.Name, sh.addr, sh.balance, addr, balance)
	}
	ln, err := cluster.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Name, err)
	}
	sh := &share{name: spec.Name, addr: addr, balance: balance, port: ln.Addr().(*net.TCPAddr).Port, ln: ln, refs: 1}
	if balance == BalanceSocket {
		f, err := cluster.File(ln)
		ln.Close() // the file holds the socket now
		if err != nil {
			return nil, err
		}
		sh.ln = nil
		sh.socks = []*sock{{port: sh.port, host: hostOf(f), file: f}}
	} else {
		if m.newBalancer == nil {
			ln.Close()
			return nil, fmt.Errorf("%s: balance = %q: no balancer in this daemon", spec.Name, balance)
		}
		sh.bal = m.newBalancer(ln, balance)
	}
	if m.shares == nil {
		m.shares = map[string]*share{}
	}
	m.shares[spec.Name] = sh
	m.holdShare(sh)
	return sh, nil
}

// holdShare gives the Holder a copy of the share's sockets, so that a
// successor daemon serves the same port (see Adopt). The caller may hold m.mu.
func (m *Manager) holdShare(sh *share) {
	if m.holder == nil {
		return
	}
	files := map[string]*os.File{}
	var mine []*os.File
	if sh.ln != nil {
		if tl, ok := sh.ln.(*net.TCPListener); ok {
			if f, err := cluster.File(tl); err == nil {
				files[shareKeys(sh.name)+"ln"] = f
				mine = append(mine, f)
			}
		}
	}
	for _, s := range sh.socks {
		files[portKey(sh.name, s.port)] = s.file
	}
	if err := m.holder.Hold(nil, files); err != nil {
		m.log.Warn("hold sockets", "name", sh.name, "err", err)
	}
	for _, f := range mine {
		f.Close()
	}
}

// releaseShare drops one reference; the last closes the port. A nil share
// is nothing to release.
func (m *Manager) releaseShare(sh *share) {
	if sh == nil {
		return
	}
	m.mu.Lock()
	sh.refs--
	last := sh.refs == 0
	if last && m.shares[sh.name] == sh {
		delete(m.shares, sh.name)
	}
	m.mu.Unlock()
	if !last {
		return
	}
	if sh.bal != nil {
		_ = sh.bal.Close()
	} else if sh.ln != nil {
		_ = sh.ln.Close()
	}
	for _, s := range sh.socks {
		_ = s.file.Close()
	}
	if m.holder != nil {
		m.holder.Release(shareKeys(sh.name))
	}
}

// learnSocket keeps a listening socket a run of p sent (a Node server, over
// IPC), so the next runs take it instead of binding: a restart does not
// refuse connections and a reload overlaps on it. It is ignored when p's
// port is configured, or when it is one already known. (p.mu and m.mu are
// taken one after the other, never one inside the other.)
func (p *Process) learnSocket(r *run, port int, f *os.File) {
	m := p.m
	p.mu.Lock()
	ok := r.spec.Learns() && !p.stopping && port > 0
	mine := p.share
	if ok {
		r.took = append(r.took, port)
	}
	p.mu.Unlock()
	if !ok {
		f.Close()
		return
	}
	m.mu.Lock()
	sh, attach := mine, false
	if sh == nil {
		if other := m.shares[p.name]; other != nil {
			if !other.learned {
				m.mu.Unlock()
				f.Close()
				return
			}
			sh = other // another instance learnt first: share its sockets
		} else {
			sh = &share{name: p.name, addr: ":" + strconv.Itoa(port), balance: BalanceSocket, port: port, learned: true}
			if m.shares == nil {
				m.shares = map[string]*share{}
			}
			m.shares[sh.name] = sh
		}
		sh.refs++
		attach = true
	}
	if !sh.learned || slices.ContainsFunc(sh.socks, func(s *sock) bool { return s.port == port }) {
		m.mu.Unlock()
		f.Close()
	} else {
		sh.socks = append(sh.socks, &sock{port: port, host: hostOf(f), file: f})
		if len(sh.socks) == 1 {
			m.learntLocked(sh.name)
		}
		if m.holder != nil {
			if err := m.holder.Hold(nil, map[string]*os.File{portKey(sh.name, port): f}); err != nil {
				m.log.Warn("hold sockets", "name", sh.name, "err", err)
			}
		}
		m.mu.Unlock()
		m.log.Info("socket learnt", "name", p.name, "port", port)
	}
	if attach {
		p.mu.Lock()
		if p.share == nil && !p.stopping {
			p.share = sh
			sh = nil
		}
		p.mu.Unlock()
		m.releaseShare(sh) // supervision ended meanwhile, or another run attached one
	}
}

// Share returns the balancer of a process name (nil when its instances share
// a socket or no port), for metrics.
func (m *Manager) Share(name string) Balancer {
	m.mu.Lock()
	defer m.mu.Unlock()
	if sh := m.shares[name]; sh != nil {
		return sh.bal
	}
	return nil
}

// inRotation lets the balancer send r connections once it is ready.
func (sh *share) inRotation(r *run) {
	if sh != nil && sh.bal != nil && r.port > 0 {
		sh.bal.Add(r.seq, "127.0.0.1:"+strconv.Itoa(r.port))
	}
}

// outOfRotation stops new connections to r at once (open ones go on).
func (sh *share) outOfRotation(r *run) {
	if sh != nil && sh.bal != nil {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // only take it out; the caller waits for its end its own way
		_ = sh.bal.Drain(ctx, r.seq)
	}
}

// drain takes r out of rotation and waits for its connections to end, or ctx.
func (sh *share) drain(ctx context.Context, r *run) {
	if sh != nil && sh.bal != nil {
		_ = sh.bal.Drain(ctx, r.seq)
	}
}

// forget drops an ended run from the balancer.
func (sh *share) forget(r *run) {
	if sh != nil && sh.bal != nil {
		sh.bal.Remove(r.seq)
	}
}

func freePort() (int, error) { return cluster.FreePort() }

// learnt returns a channel closed once a socket of name has been learnt.
func (m *Manager) learnt(name string) <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if sh := m.shares[name]; sh != nil && len(sh.socks) > 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	if m.learning == nil {
		m.learning = map[string]chan struct{}{}
	}
	c := m.learning[name]
	if c == nil {
		c = make(chan struct{})
		m.learning[name] = c
	}
	return c
}

// learntLocked wakes whoever waits for name's first socket. The caller holds m.mu.
func (m *Manager) learntLocked(name string) {
	if c := m.learning[name]; c != nil {
		close(c)
		delete(m.learning, name)
	}
}

// learnGrace is how long a run of a process whose sockets are learnt may
// take to listen on each of them before the ones it left are let go (a
// program that moved to another port must not have its old one held,
// taking connections nobody answers).
const learnGrace = 10 * time.Second

// attachLearnt gives p the sockets another instance of its name has
// handed over, when it has none yet: a Node cluster whose first instance
// listened late, after the others were started.
func (p *Process) attachLearnt() *share {
	m := p.m
	m.mu.Lock()
	sh := m.shares[p.name]
	if sh == nil || !sh.learned || len(sh.socks) == 0 {
		m.mu.Unlock()
		return nil
	}
	sh.refs++
	m.mu.Unlock()
	p.mu.Lock()
	if p.share == nil && !p.stopping {
		p.share = sh
		p.mu.Unlock()
		return sh
	}
	got := p.share
	p.mu.Unlock()
	m.releaseShare(sh)
	return got
}

// pruneLearnt lets go, learnGrace after r started, of the learnt sockets
// r (then the process's current run) has not listened on.
func (r *run) pruneLearnt(grace time.Duration) {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.ended:
		return
	}
	p, m := r.p, r.p.m
	p.mu.Lock()
	sh, current := p.share, p.cur == r && r.exit == nil
	took := append([]int(nil), r.took...)
	p.mu.Unlock()
	if sh == nil || !sh.learned || !current || len(took) == 0 {
		return
	}
	m.mu.Lock()
	var keep []*sock
	var gone []*sock
	for _, s := range sh.socks {
		if slices.Contains(took, s.port) {
			keep = append(keep, s)
		} else {
			gone = append(gone, s)
		}
	}
	sh.socks = keep
	m.mu.Unlock()
	for _, s := range gone {
		m.log.Info("learnt socket let go: the program no longer listens on it", "name", p.name, "port", s.port)
		s.file.Close()
		if m.holder != nil {
			m.holder.Release(portKey(sh.name, s.port))
		}
	}
}
