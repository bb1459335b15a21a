package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Scale runs n instances of the process called name, as PM2's scale does:
// going up, the new instances are started beside the running ones (which
// are not touched: on a shared port they simply join it) and are ready
// before Scale returns; going down, the last instances are stopped
// gracefully — out of the balancer's rotation first — and forgotten. Each
// instance keeps its log files.
func (m *Manager) Scale(ctx context.Context, name string, n int) ([]Info, error) {
	if n < 1 {
		return nil, fmt.Errorf("scale %s: %d instances: want at least 1 (velos stop stops them all)", name, n)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, fmt.Errorf("scale %s: %w", name, ErrClosed)
	}
	var ps []*Process
	for _, p := range m.procs {
		if p.name == name {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		known := m.knownLocked()
		m.mu.Unlock()
		return nil, fmt.Errorf("scale: %w %q; known: %s", ErrUnknown, name, known)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].instance < ps[j].instance })
	spec := ps[0].info().Spec
	spec.Instances = n
	var added []*Process
	if n > len(ps) {
		next := ps[len(ps)-1].instance + 1
		taken := map[string]bool{}
		for _, p := range m.procs {
			taken[p.logName] = true
		}
		for i := 0; i < n-len(ps); i++ {
			inst := next + i
			ln := name + "-" + strconv.Itoa(inst)
			if taken[ln] {
				m.mu.Unlock()
				return nil, fmt.Errorf("scale %s: the log name %q is taken by another process", name, ln)
			}
			added = append(added, &Process{m: m, id: m.nextID, instance: inst, name: name, spec: spec, status: Stopped, logName: ln})
			m.nextID++
		}
		m.procs = append(m.procs, added...)
	}
	m.mu.Unlock()

	if len(added) == 0 {
		// Down: the last instances go; the others only learn the new count.
		gone := ps[n:]
		infos, err := m.each(gone, func(p *Process) error {
			p.op.Lock()
			defer p.op.Unlock()
			p.deleted = true
			return p.stop(ctx)
		})
		m.remove(gone)
		for _, in := range infos {
			m.emit(Event{Kind: EventDeleted, ID: in.ID, Name: in.Name})
		}
		setInstances(ps[:n], n)
		m.saveRuntime()
		return snapshot(ps[:n]), err
	}

	setInstances(ps, n)
	for _, p := range added {
		if err := p.launch(nil); err != nil {
			return m.undoScale(ps, added, err)
		}
	}
	deadline := time.Now().Add(readyTimeout(spec) + time.Second)
	errs := make([]error, len(added))
	for i, p := range added {
		errs[i] = p.awaitStarted(ctx, deadline)
	}
	if err := errors.Join(errs...); err != nil {
		return m.undoScale(ps, added, err)
	}
	return snapshot(append(ps, added...)), nil
}

// undoScale stops and forgets the instances a failed scale-up added, and
// gives the others their count back.
func (m *Manager) undoScale(ps, added []*Process, err error) ([]Info, error) {
	_, _ = m.each(added, func(p *Process) error {
		p.op.Lock()
		defer p.op.Unlock()
		p.deleted = true
		return p.stop(context.Background())
	})
	m.remove(added)
	setInstances(ps, len(ps))
	return snapshot(ps), fmt.Errorf("scale: %w; the new instances were stopped", err)
}

// setInstances records the number of instances in each process's spec.
func setInstances(ps []*Process, n int) {
	for _, p := range ps {
		p.mu.Lock()
		p.spec.Instances = n
		p.mu.Unlock()
	}
}

func snapshot(ps []*Process) []Info {
	out := make([]Info, len(ps))
	for i, p := range ps {
		out[i] = p.info()
	}
	return out
}
