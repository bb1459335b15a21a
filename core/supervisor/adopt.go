package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ExitUnknown is the reason recorded for a run that ended while no daemon
// watched it: it was not the new daemon's child, so its exit status cannot
// be known. The restart policy counts it as a failure.
const ExitUnknown = "ended while no daemon watched it (exit status unknown)"

// ErrCannotAdopt is returned by [Manager.Adopt] where runs cannot be known
// again safely (no process start times or pidfds: not Linux).
var ErrCannotAdopt = errors.New("adopting the processes of an earlier daemon needs Linux (pidfd and /proc start times)")

// Adopt takes over the processes of an earlier daemon from its [Runtime]:
// a run whose pid still runs and started when the runtime says (never a
// recycled pid) goes on under this Manager — same pid, its output read on
// from the [Holder] (what was spooled first), its exit noticed with a
// pidfd, stop, restart, signals and metrics working by pid and group, its
// NOTIFY_SOCKET bound again at the same path. A run that is gone is an exit
// nobody saw ([ExitUnknown]) and the restart policy decides, unless it was
// being stopped. Processes at rest keep their status. A reload's new run
// that was not serving yet is ended. The Manager must be empty.
func (m *Manager) Adopt(rt Runtime) ([]Info, error) {
	if !canAdopt {
		return nil, ErrCannotAdopt
	}
	m.mu.Lock()
	if len(m.procs) > 0 || m.closed {
		m.mu.Unlock()
		return nil, errors.New("adopt: the manager already has processes")
	}
	m.nextID, m.seq = rt.NextID, rt.Seq
	for _, ps := range rt.Processes {
		m.nextID = max(m.nextID, ps.ID+1)
		for _, rs := range []*RunState{ps.Run, ps.Pending} {
			if rs != nil {
				m.seq = max(m.seq, rs.Seq)
			}
		}
	}
	m.mu.Unlock()

	shares := m.adoptShares(rt)
	type relaunch struct {
		p     *Process
		cause string
	}
	var again []relaunch
	for _, ps := range rt.Processes {
		if ps.Log == "" || ps.Name == "" {
			continue
		}
		p := &Process{m: m, id: ps.ID, instance: ps.Instance, name: ps.Name, logName: ps.Log, spec: ps.Spec,
			status: Stopped, restarts: ps.Restarts, history: ps.History, lastExit: ps.LastExit, reason: ps.Reason,
			startedAt: ps.StartedAt, decisions: ps.Decisions}
		m.mu.Lock()
		m.procs = append(m.procs, p)
		m.mu.Unlock()
		if rs := ps.Pending; rs != nil {
			// It never served: the reload it belonged to failed with its daemon.
			if f, ok := findRun(rs.PID, rs.StartTicks); ok {
				signalGroup(rs.PGID, syscall.SIGKILL)
				f.wait()
			}
			m.readLeftovers(p, *rs)
		}
		if rs := ps.Run; rs != nil {
			if f, ok := findRun(rs.PID, rs.StartTicks); ok {
				if sh := shares[p.name]; sh != nil {
					m.mu.Lock()
					sh.refs++
					m.mu.Unlock()
					p.share = sh
				}
				m.adoptRun(p, ps, f)
				continue
			}
			m.readLeftovers(p, *rs)
			e := Exit{Code: -1, Reason: ExitUnknown, Uptime: m.now().Sub(rs.Started), NeverReady: !rs.Ready}
			p.lastExit = &e
			if ps.Stopping {
				continue // it stopped, as asked
			}
			d, h := Decide(p.spec, e, m.now(), p.decisions)
			p.decisions = h
			if d.Restart {
				again = append(again, relaunch{p, e.String()})
			} else {
				p.status, p.reason = d.Status, d.Reason
			}
			continue
		}
		switch ps.Status {
		case Online, Launching, Waiting:
			// Between runs when its daemon died (a restart's backoff).
			if !ps.Stopping {
				cause := "restart pending at adoption"
				if ps.LastExit != nil {
					cause = ps.LastExit.String()
				}
				again = append(again, relaunch{p, cause})
			}
		case Errored:
			p.status = Errored
		}
	}
	m.saveRuntime()
	for _, a := range again {
		a.p.mu.Lock()
		a.p.recordRestart(a.cause)
		a.p.mu.Unlock()
		if err := a.p.launch(nil); err != nil {
			m.log.Warn("restart at adoption", "name", a.p.name, "err", err)
		}
	}
	// A port no instance runs on any more is let go.
	for _, sh := range shares {
		m.mu.Lock()
		unused := sh.refs == 0
		m.mu.Unlock()
		if unused {
			sh.refs = 1
			m.releaseShare(sh)
		}
	}
	return m.List(), nil
}

// adoptShares takes back, from the Holder, the ports the instances of the
// runtime's processes share — a balancer's listener or the sockets passed
// to instances — so that adopted instances keep serving on them and
// restarted ones take them instead of binding. By process name.
func (m *Manager) adoptShares(rt Runtime) map[string]*share {
	out := map[string]*share{}
	for _, ps := range rt.Processes {
		note := ps.Share
		if note == nil || out[ps.Name] != nil {
			continue
		}
		got := m.take(shareKeys(ps.Name))
		if len(got) == 0 {
			continue
		}
		sh := &share{name: ps.Name, addr: note.Addr, balance: note.Balance, learned: note.Learned}
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f := got[k].File
			if f == nil {
				continue
			}
			if k == shareKeys(ps.Name)+"ln" {
				fl, err := net.FileListener(f)
				f.Close()
				tl, ok := fl.(*net.TCPListener)
				if err != nil || !ok || m.newBalancer == nil {
					m.log.Warn("adopt: balancer socket", "name", ps.Name, "err", err)
					if fl != nil {
						fl.Close()
					}
					continue
				}
				sh.ln, sh.port = tl, tl.Addr().(*net.TCPAddr).Port
				sh.bal = m.newBalancer(tl, sh.balance)
				continue
			}
			port, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(k, shareKeys(ps.Name)), "/"))
			if err != nil {
				f.Close()
				continue
			}
			sh.socks = append(sh.socks, &sock{port: port, host: hostOf(f), file: f})
		}
		if sh.bal == nil && len(sh.socks) == 0 {
			continue
		}
		if sh.bal == nil {
			sh.port = sh.socks[0].port
			if _, p, err := net.SplitHostPort(sh.addr); err == nil {
				if n, err := strconv.Atoi(p); err == nil && n > 0 {
					sh.port = n
				}
			}
		}
		m.mu.Lock()
		if m.shares == nil {
			m.shares = map[string]*share{}
		}
		m.shares[sh.name] = sh
		m.mu.Unlock()
		out[sh.name] = sh
	}
	return out
}

// adoptRun makes the live run rs of p this Manager's, and supervises it.
func (m *Manager) adoptRun(p *Process, ps ProcessState, f *foreign) {
	rs := ps.Run
	spec := ps.Spec
	r := &run{p: p, seq: rs.Seq, spec: spec, pid: rs.PID, started: rs.Started, port: rs.Port, wants: rs.Wants,
		readyBy: rs.ReadyBy, pgid: rs.PGID, uid: rs.UID, startTicks: rs.StartTicks, notifyPath: rs.Notify,
		ready: make(chan struct{}), ended: make(chan struct{}), gotReady: make(chan struct{}),
		gotListen: make(chan struct{}), pings: make(chan struct{}, 1), watchdogs: make(chan time.Duration, 1)}
	handed := m.take(rs.Keys())
	out, outDone := m.attachHanded(p, handed[rs.Keys()+"out"], false)
	errp, errDone := m.attachHanded(p, handed[rs.Keys()+"err"], true)
	r.out, r.errp, r.outDone, r.errDone = out, errp, outDone, errDone
	if h := handed[rs.Keys()+"ipc"]; h.File != nil {
		r.hasIPC = true
		go r.readIPC(h.File)
	}
	if rs.Notify != "" {
		if c, err := listenNotify(rs.Notify); err == nil {
			r.closers = append(r.closers, c)
			go r.readNotify(c)
		} else {
			m.log.Warn("adopt: notify socket", "name", p.name, "path", rs.Notify, "err", err)
		}
	}
	m.mu.Lock()
	m.wg.Add(1)
	m.mu.Unlock()
	p.mu.Lock()
	p.cur = r
	p.done, p.wake, p.swapped = make(chan struct{}), make(chan struct{}), make(chan struct{})
	if rs.Ready {
		r.isReady = true
		close(r.ready)
		p.everReady = true
		p.setStatus(Online)
		p.share.inRotation(r)
	} else {
		p.setStatus(Launching)
	}
	p.mu.Unlock()
	go func() {
		e := f.wait()
		var o, er io.Closer
		if out != nil {
			o = out
		}
		if errp != nil {
			er = errp
		}
		r.finish(e, o, er)
	}()
	go p.supervise(r)
	go r.watchdog(spec.Watchdog)
	if !rs.Ready {
		go r.awaitReadiness(specProbes(spec, rs.Port), max(time.Until(rs.ReadyBy), time.Millisecond))
	}
	if ps.Stopping {
		go func() {
			p.op.Lock()
			defer p.op.Unlock()
			_ = p.stop(context.Background())
		}()
	}
	m.log.Info("process adopted", "id", p.id, "name", p.name, "pid", r.pid, "ready", rs.Ready)
}

// take is what the Holder keeps under prefix; nothing without one.
func (m *Manager) take(prefix string) map[string]Handed {
	if m.holder == nil {
		return nil
	}
	h, err := m.holder.Take(prefix)
	if err != nil {
		m.log.Warn("adopt: take pipes", "keys", prefix, "err", err)
		return nil
	}
	return h
}

// attachHanded stores what a handed-over pipe carries, its spool first,
// in p's log; it returns the pipe (to close when the run ends) and the
// channel closed once everything is stored.
func (m *Manager) attachHanded(p *Process, h Handed, stderr bool) (*os.File, <-chan struct{}) {
	if h.File == nil {
		if h.Spool != nil {
			h.Spool.Close()
		}
		done := make(chan struct{})
		close(done)
		return nil, done
	}
	var rd io.Reader = h.File
	if h.Spool != nil {
		rd = &spooled{spool: h.Spool, pipe: h.File}
	}
	return h.File, m.sink.Attach(p.logName, stderr, rd, p.spec.Log)
}

// readLeftovers stores what a run that ended while no daemon watched left
// in its pipes and spools, then lets the Holder drop them.
func (m *Manager) readLeftovers(p *Process, rs RunState) {
	handed := m.take(rs.Keys())
	if h := handed[rs.Keys()+"ipc"]; h.File != nil {
		h.File.Close()
	}
	out, outDone := m.attachHanded(p, handed[rs.Keys()+"out"], false)
	errp, errDone := m.attachHanded(p, handed[rs.Keys()+"err"], true)
	go func() {
		drain(outDone, errDone)
		for _, f := range []*os.File{out, errp} {
			if f != nil {
				f.Close()
			}
		}
		if m.holder != nil {
			m.holder.Release(rs.Keys())
		}
	}()
}

// spooled reads a spool, then the pipe it was drained from: one stream.
type spooled struct {
	spool, pipe *os.File
}

func (s *spooled) Read(b []byte) (int, error) {
	if s.spool != nil {
		n, err := s.spool.Read(b)
		if err == nil || n > 0 && errors.Is(err, io.EOF) {
			return n, nil
		}
		s.spool.Close()
		s.spool = nil
		if !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("spool: %w", err)
		}
	}
	return s.pipe.Read(b)
}
