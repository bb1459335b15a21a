package supervisor

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Progress is told of each step of a long operation (a reload), for MCP
// progress notifications and the CLI's lines.
type Progress func(in Info, step string)

// Reload replaces the target's processes one instance at a time, each
// without a moment where it does not serve: a new run is started beside the
// old one (on the same shared socket, or behind the same balancer), and only
// once it is ready is the old one taken out of rotation and stopped with its
// kill signal and kill_timeout. A new run that is not ready in time, or
// exits, aborts the reload with the old runs still serving.
//
// spec, when not nil, is what the new runs run (a config change); it must
// keep the name and the number of instances. A process that is not online
// (stopped, errored, waiting, launching), or whose runs cannot overlap
// (no port held by Velos and no readiness to wait for), is restarted
// instead: stop, then start.
func (m *Manager) Reload(ctx context.Context, target string, spec *Spec, cause Cause, progress Progress) ([]Info, error) {
	return m.reloadTarget(ctx, target, spec, cause, progress, false)
}

// ReloadRunning is [Manager.Reload] of what runs: instances stopped on
// purpose (or being stopped) are left alone. It is what a watched file
// change does.
func (m *Manager) ReloadRunning(ctx context.Context, target string, cause Cause) ([]Info, error) {
	return m.reloadTarget(ctx, target, nil, cause, nil, true)
}

func (m *Manager) reloadTarget(ctx context.Context, target string, spec *Spec, cause Cause, progress Progress, running bool) ([]Info, error) {
	if spec != nil {
		s := spec.WithDefaults()
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("reload: %w", err)
		}
		if _, _, err := s.Sharing(); err != nil {
			return nil, fmt.Errorf("reload %w", err)
		}
		spec = &s
	}
	ps, err := m.Resolve(target)
	if err != nil {
		return nil, fmt.Errorf("reload: %w", err)
	}
	if spec != nil {
		for _, p := range ps {
			in := p.info()
			if in.Name != spec.Name || in.Spec.Instances != spec.Instances {
				return nil, fmt.Errorf("reload %s: the new spec is for %s ×%d, not %s ×%d", in.Name, spec.Name, spec.Instances, in.Name, in.Spec.Instances)
			}
		}
	}
	if progress == nil {
		progress = func(Info, string) {}
	}
	if spec != nil && !m.sharesFit(ps, *spec) {
		// The port itself changes: the instances cannot overlap on it, so
		// all stop, then all start with the new one.
		return m.restartAll(ctx, ps, *spec, cause, progress)
	}
	out := make([]Info, 0, len(ps))
	for i, p := range ps {
		err := func() error {
			p.op.Lock()
			defer p.op.Unlock()
			if p.deleted {
				return fmt.Errorf("reload %s: %w (deleted meanwhile)", p.info().Name, ErrUnknown)
			}
			if st := p.info().Status; running && (st == Stopped || st == Stopping) {
				return nil
			}
			ctx, end := p.beginOp(ctx)
			defer end()
			return p.reload(ctx, spec, cause, func(in Info, step string) {
				progress(in, fmt.Sprintf("%d/%d %s", i+1, len(ps), step))
			})
		}()
		out = append(out, p.info())
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// reload replaces one instance's run (see [Manager.Reload]). The caller
// holds p.op.
func (p *Process) reload(ctx context.Context, newSpec *Spec, cause Cause, progress Progress) error {
	p.mu.Lock()
	spec := p.spec
	if newSpec != nil {
		spec = *newSpec
	}
	live := p.cur != nil && p.status == Online && !p.stopping
	sh := p.share
	name := p.name
	p.mu.Unlock()
	if m := p.m; m.isClosed() {
		return fmt.Errorf("reload %s: %w", name, ErrClosed)
	}
	addr, _, _ := spec.Sharing()
	sameShare := (sh == nil && addr == "") || (sh != nil && sh.fits(spec))
	// Two runs overlap only where that is known to work: on a port Velos
	// holds, or when the program says when it is ready. Another program
	// may bind a port of its own, or must not run twice (a scheduler).
	overlap := sh != nil || spec.WaitReady || spec.ReadyTCP != "" || spec.ReadyHTTP != ""
	if !live || !sameShare || !overlap {
		// Nothing serves, the port itself changes, or the program cannot
		// run twice: a plain restart.
		progress(p.info(), "restarting")
		keep := p.keepShare(spec)
		if err := p.stop(ctx); err != nil {
			if keep != nil {
				p.m.releaseShare(keep)
			}
			return err
		}
		p.mu.Lock()
		p.spec = spec
		p.recordRestart(string(cause))
		p.decisions = History{}
		p.mu.Unlock()
		if err := p.launch(keep); err != nil {
			return err
		}
		return p.started(ctx, spec)
	}

	progress(p.info(), "starting a new instance")
	// The reload holds the port too: should the old run end and its
	// supervision with it, the new run's socket or balancer stays.
	hold := p.keepShare(spec)
	defer p.m.releaseShare(hold)
	r, err := p.spawn(spec, true, string(cause))
	if err != nil {
		return fmt.Errorf("reload %s: %w; the old instance still serves", name, err)
	}
	select {
	case <-r.ready:
	case <-r.ended:
	case <-ctx.Done():
		p.failRun(r, "reload cancelled")
	}
	select {
	case <-r.ready:
	default:
		<-r.ended
		p.mu.Lock()
		p.pending = nil
		why := r.exit.String()
		p.mu.Unlock()
		if ctx.Err() != nil {
			return fmt.Errorf("reload %s: %w; the old instance still serves", name, ctx.Err())
		}
		return fmt.Errorf("reload %s (id %d): the new instance failed (%s); the old instance still serves", name, p.id, why)
	}

	// Swap: the new run serves from now on; the old one, whatever it is now
	// (it may have crashed and been restarted meanwhile), is retired. Unless
	// supervision has ended meanwhile (the old run crashed for good, or a
	// stop came): then nothing would watch the new run, and it goes.
	p.mu.Lock()
	if ended := chanClosed(p.done); ended || p.stopping {
		p.pending = nil
		st := p.status
		p.mu.Unlock()
		r.terminate(killSignal(spec), spec.KillTimeout)
		return fmt.Errorf("reload %s (id %d): the instance became %s during the reload; its new run was stopped", name, p.id, st)
	}
	old := p.cur
	oldSpec := p.spec
	p.cur, p.pending = r, nil
	p.spec = spec
	p.startedAt = r.started
	p.restarts++
	p.history = append(p.history, Restart{Time: p.m.now(), Cause: string(cause)})
	if len(p.history) > keptRestarts {
		p.history = p.history[len(p.history)-keptRestarts:]
	}
	p.decisions = History{}
	if p.status == Waiting {
		close(p.wake)
		p.wake = make(chan struct{})
	}
	p.nextStart = time.Time{}
	p.setStatus(Online)
	close(p.swapped)
	p.swapped = make(chan struct{})
	p.mu.Unlock()
	progress(p.info(), "new instance ready (pid "+strconv.Itoa(r.pid)+")")

	if old != nil {
		dctx, cancel := context.WithTimeout(ctx, oldSpec.KillTimeout)
		sh.drain(dctx, old)
		cancel()
		old.terminate(killSignal(oldSpec), oldSpec.KillTimeout)
		progress(p.info(), "old instance stopped (pid "+strconv.Itoa(old.pid)+")")
	}
	return nil
}

func readyTimeout(s Spec) time.Duration {
	if s.ListenTimeout > 0 {
		return s.ListenTimeout
	}
	return DefaultListenTimeout
}

func (m *Manager) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// sharesFit reports whether every process of ps can keep its port under spec.
func (m *Manager) sharesFit(ps []*Process, spec Spec) bool {
	for _, p := range ps {
		p.mu.Lock()
		sh := p.share
		p.mu.Unlock()
		if sh != nil && !sh.fits(spec) {
			return false
		}
	}
	return true
}

// restartAll stops every process of ps, then starts them all with spec and
// waits for them to be ready: what a change of port needs.
func (m *Manager) restartAll(ctx context.Context, ps []*Process, spec Spec, cause Cause, progress Progress) ([]Info, error) {
	progress(ps[0].info(), "stopping every instance: the port changes")
	if _, err := m.each(ps, func(p *Process) error {
		p.op.Lock()
		defer p.op.Unlock()
		return p.stop(ctx)
	}); err != nil {
		return nil, err
	}
	infos, err := m.each(ps, func(p *Process) error {
		p.op.Lock()
		defer p.op.Unlock()
		if p.deleted {
			return fmt.Errorf("reload %s: %w (deleted meanwhile)", spec.Name, ErrUnknown)
		}
		p.mu.Lock()
		p.spec = spec
		p.recordRestart(string(cause))
		p.decisions = History{}
		p.mu.Unlock()
		if err := p.launch(nil); err != nil {
			return err
		}
		return p.started(ctx, spec)
	})
	progress(ps[0].info(), "every instance started")
	return infos, err
}

// chanClosed reports whether c is closed.
func chanClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
