package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/velos-pm/velos/core/cluster"
)

// Sink receives a child's output. Attach reads r until EOF and closes the
// returned channel once everything read is stored.
type Sink interface {
	Attach(logName string, stderr bool, r io.Reader, opt LogOptions) <-chan struct{}
}

// DiscardSink drops all output. Tests that do not look at logs use it.
type DiscardSink struct{}

// Attach implements [Sink].
func (DiscardSink) Attach(_ string, _ bool, r io.Reader, _ LogOptions) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, r)
		close(done)
	}()
	return done
}

// EventKind names what happened to a process.
type EventKind string

// The events a [Manager] reports.
const (
	EventStarted EventKind = "started"
	EventReady   EventKind = "ready"   // the run is ready (at once when nothing is waited for)
	EventCrashed EventKind = "crashed" // exited and will be restarted after Delay
	EventExited  EventKind = "exited"  // exited and stays down (stopped or errored)
	EventStopped EventKind = "stopped" // stopped on request
	EventDeleted EventKind = "deleted"
)

// Event is one lifecycle change, for subscribers such as MCP notifications
// and tracing.
type Event struct {
	Kind   EventKind
	ID     int
	Name   string
	PID    int
	Exit   *Exit
	Delay  time.Duration
	Reason string
	// Cause is, for EventStarted, why the process was started again
	// ("exit 1", "SIGKILL", "manual", "cron" …); "" for its first start.
	Cause string
}

// Options configure a [Manager].
type Options struct {
	Sink    Sink             // where output goes; DiscardSink when nil
	Now     func() time.Time // the clock; time.Now when nil
	Logger  *slog.Logger
	OnEvent func(Event) // called synchronously; must not block or call back into the Manager
	// RunDir holds per-run sockets (NOTIFY_SOCKET) and the Node preload; a
	// private temporary folder, removed at Shutdown, when empty.
	RunDir string
	// Balancer makes the balancer of a process with balance round-robin or
	// least-conn; such processes cannot start without it.
	Balancer NewBalancer
	// Holder keeps each run's pipes outside the daemon, so that a successor
	// can adopt it; none when nil.
	Holder Holder
	// OnRuntime is given the [Runtime] after every launch, ready, stop and
	// exit (calls are serialised): the daemon writes it where its successor
	// looks. It must not call back into the Manager.
	OnRuntime func(Runtime)
}

// Manager owns every supervised process of one daemon.
type Manager struct {
	sink        Sink
	now         func() time.Time
	log         *slog.Logger
	onEvent     func(Event)
	newBalancer NewBalancer
	holder      Holder
	onRuntime   func(Runtime)
	wg          sync.WaitGroup

	rtMu     sync.Mutex
	detached bool // guarded by rtMu: Detach has run, nothing more is written

	dirOnce sync.Once
	runDir  string
	tempDir bool // runDir was made by the Manager and goes at Shutdown
	dirErr  error
	preOnce sync.Once
	preload string
	preErr  error
	// The preload for children of other users.
	pubOnce    sync.Once
	pubDir     string
	pubPreload string
	pubErr     error

	mu       sync.Mutex
	procs    []*Process // by id
	nextID   int
	seq      int                      // runs started, for their ids
	shares   map[string]*share        // ports held, by process name
	learning map[string]chan struct{} // closed when a name's first socket is learnt
	closed   bool                     // Shutdown has begun: nothing starts any more
}

// learnWait bounds how long the other instances of a Node cluster with no
// port given wait for the first to listen.
const learnWait = 5 * time.Second

// ErrClosed is returned by operations that would start a process once the
// Manager is shutting down.
var ErrClosed = errors.New("the daemon is shutting down")

// ErrUnknown is returned when a target names no process.
var ErrUnknown = errors.New("unknown process")

// ErrExists is returned when starting a name that is already taken.
var ErrExists = errors.New("process already exists")

// NewManager returns a Manager with no processes.
func NewManager(o Options) *Manager {
	m := &Manager{sink: o.Sink, now: o.Now, log: o.Logger, onEvent: o.OnEvent, runDir: o.RunDir, newBalancer: o.Balancer,
		holder: o.Holder, onRuntime: o.OnRuntime}
	if m.sink == nil {
		m.sink = DiscardSink{}
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m
}

// runFolder returns the folder for per-run sockets, made on first use.
func (m *Manager) runFolder() (string, error) {
	m.dirOnce.Do(func() {
		if m.runDir == "" {
			m.runDir, m.dirErr = os.MkdirTemp("", "velos-run")
			m.tempDir = m.dirErr == nil
			return
		}
		m.dirErr = os.MkdirAll(m.runDir, 0o700)
	})
	return m.runDir, m.dirErr
}

// nodePreload returns the path of the Node preload, written on first use.
// With public, it is a copy any user can read (for a child that runs as
// another user, who cannot enter the daemon's private run folder): in a
// folder of its own under the system's temporary folder, removed at
// Shutdown.
func (m *Manager) nodePreload(public bool) (string, error) {
	if public {
		m.pubOnce.Do(func() {
			dir, err := os.MkdirTemp("", "velos-node-")
			if err == nil {
				m.pubDir = dir
				err = os.Chmod(dir, 0o755)
			}
			if err != nil {
				m.pubErr = fmt.Errorf("node preload: %w", err)
				return
			}
			m.pubPreload, m.pubErr = cluster.WritePreload(dir)
		})
		return m.pubPreload, m.pubErr
	}
	m.preOnce.Do(func() {
		dir, err := m.runFolder()
		if err != nil {
			m.preErr = err
			return
		}
		m.preload, m.preErr = cluster.WritePreload(dir)
	})
	return m.preload, m.preErr
}

func (m *Manager) nextSeq() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	return m.seq
}

func (m *Manager) emit(e Event) {
	m.log.Info("process "+string(e.Kind), "id", e.ID, "name", e.Name, "pid", e.PID, "exit", e.Exit, "reason", e.Reason)
	if m.onEvent != nil {
		m.onEvent(e)
	}
}

// Start adds the process (Instances copies of it) and starts it. A spawn
// failure (missing executable, bad cwd) leaves nothing behind.
func (m *Manager) Start(spec Spec) ([]Info, error) {
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	if _, _, err := spec.Sharing(); err != nil {
		return nil, fmt.Errorf("start %w", err)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, fmt.Errorf("start %s: %w", spec.Name, ErrClosed)
	}
	for _, p := range m.procs {
		if p.name == spec.Name {
			m.mu.Unlock()
			return nil, fmt.Errorf("start %s: %w (id %d); restart or delete it, or pick another --name", spec.Name, ErrExists, p.id)
		}
	}
	// Instances log as name-i: a process must not take a log name already
	// used, or two of them would write into one file.
	taken := map[string]string{}
	for _, p := range m.procs {
		taken[p.logName] = p.name
	}
	for i := 0; i < spec.Instances; i++ {
		ln := Info{Name: spec.Name, Instance: i, Spec: spec}.LogName()
		if other, ok := taken[ln]; ok {
			m.mu.Unlock()
			return nil, fmt.Errorf("start %s: its log name %q is taken by process %s; pick another --name", spec.Name, ln, other)
		}
	}
	if _, err := strconv.Atoi(spec.Name); err == nil || spec.Name == "all" {
		m.mu.Unlock()
		return nil, fmt.Errorf("start %s: a name cannot be a number or \"all\": those select processes", spec.Name)
	}
	var ps []*Process
	for i := 0; i < spec.Instances; i++ {
		p := &Process{m: m, id: m.nextID, instance: i, name: spec.Name, spec: spec, status: Stopped,
			logName: Info{Name: spec.Name, Instance: i, Spec: spec}.LogName()}
		m.nextID++
		ps = append(ps, p)
	}
	m.procs = append(m.procs, ps...)
	m.mu.Unlock()

	for i, p := range ps {
		if err := p.launch(nil); err != nil {
			for _, q := range ps {
				_ = q.stop(context.Background())
			}
			m.remove(ps)
			return nil, err
		}
		if i == 0 && len(ps) > 1 && spec.Learns() {
			// The first instance binds its port and hands it over; the others
			// then take it instead of failing to bind. A program that does
			// not listen soon is not waited for long.
			t := time.NewTimer(min(readyTimeout(spec), learnWait))
			select {
			case <-m.learnt(spec.Name):
			case <-p.doneChan():
			case <-t.C:
			}
			t.Stop()
		}
	}
	// Start returns once every instance is ready. One that is not in time
	// (or comes to rest first) fails the start: all are stopped and stay
	// listed, errored, with the reason.
	timeout := spec.ListenTimeout
	if timeout <= 0 {
		timeout = DefaultListenTimeout
	}
	deadline := time.Now().Add(timeout + time.Second)
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.awaitStarted(context.Background(), deadline)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		m.each(ps, func(p *Process) error {
			p.op.Lock()
			defer p.op.Unlock()
			_ = p.stop(context.Background())
			p.mu.Lock()
			p.reason = err.Error()
			p.setStatus(Errored)
			p.mu.Unlock()
			return nil
		})
		return nil, err
	}
	infos := make([]Info, 0, len(ps))
	for _, p := range ps {
		infos = append(infos, p.info())
	}
	return infos, nil
}

func (m *Manager) remove(ps []*Process) {
	defer m.saveRuntime() // after the unlock below
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.procs[:0]
	for _, p := range m.procs {
		gone := false
		for _, q := range ps {
			gone = gone || p == q
		}
		if !gone {
			kept = append(kept, p)
		}
	}
	m.procs = kept
}

// Resolve turns a target — a name, a numeric id, or "all" — into processes.
// An unknown target is an error that lists the known names.
func (m *Manager) Resolve(target string) ([]*Process, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if target == "all" {
		return append([]*Process(nil), m.procs...), nil
	}
	var out []*Process
	if id, err := strconv.Atoi(target); err == nil {
		for _, p := range m.procs {
			if p.id == id {
				out = append(out, p)
			}
		}
	} else {
		for _, p := range m.procs {
			if p.name == target {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w %q; known: %s", ErrUnknown, target, m.knownLocked())
	}
	return out, nil
}

// Select returns snapshots of the processes a target selects (see
// [Manager.Resolve]), in id order.
func (m *Manager) Select(target string) ([]Info, error) {
	ps, err := m.Resolve(target)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.info())
	}
	return out, nil
}

func (m *Manager) knownLocked() string {
	seen := map[string]bool{}
	var names []string
	for _, p := range m.procs {
		if !seen[p.name] {
			seen[p.name] = true
			names = append(names, p.name)
		}
	}
	if len(names) == 0 {
		return "none (no processes are managed)"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Stop stops the target's processes gracefully, in parallel.
func (m *Manager) Stop(ctx context.Context, target string) ([]Info, error) {
	ps, err := m.Resolve(target)
	if err != nil {
		return nil, fmt.Errorf("stop: %w", err)
	}
	return m.each(ps, func(p *Process) error {
		p.cancelOp()
		p.op.Lock()
		defer p.op.Unlock()
		return p.stop(ctx)
	})
}

// Restart stops the target's processes and starts them again, recording cause.
func (m *Manager) Restart(ctx context.Context, target string, cause Cause) ([]Info, error) {
	ps, err := m.Resolve(target)
	if err != nil {
		return nil, fmt.Errorf("restart: %w", err)
	}
	return m.each(ps, func(p *Process) error { return m.restart(ctx, p, cause) })
}

func (m *Manager) restart(ctx context.Context, p *Process, cause Cause) error {
	p.op.Lock()
	defer p.op.Unlock()
	ctx, end := p.beginOp(ctx)
	defer end()
	if p.deleted {
		return fmt.Errorf("restart %s: %w (deleted meanwhile)", p.info().Name, ErrUnknown)
	}
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return fmt.Errorf("restart %s: %w", p.info().Name, ErrClosed)
	}
	p.mu.Lock()
	spec := p.spec
	p.mu.Unlock()
	keep := p.keepShare(spec)
	if err := p.stop(ctx); err != nil {
		if keep != nil {
			m.releaseShare(keep)
		}
		return err
	}
	p.mu.Lock()
	p.recordRestart(string(cause))
	p.decisions = History{}
	p.mu.Unlock()
	if err := p.launch(keep); err != nil {
		return err
	}
	return p.started(ctx, spec)
}

// Update replaces the spec of the target's processes without restarting
// them: what is read while a process runs (restart policy and backoff, kill
// signal and timeout, max_memory, cron_restart) applies at once; what a
// run starts with (command, cwd, env, …) applies at its next start. The name
// and the number of instances cannot change this way: delete and start.
func (m *Manager) Update(target string, spec Spec) ([]Info, error) {
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	ps, err := m.Resolve(target)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	for _, p := range ps {
		p.mu.Lock()
		name, n := p.name, p.spec.Instances
		p.mu.Unlock()
		if name != spec.Name {
			return nil, fmt.Errorf("update %s: the spec is for %q", name, spec.Name)
		}
		if n != spec.Instances {
			return nil, fmt.Errorf("update %s: instances %d → %d needs a delete and a start", name, n, spec.Instances)
		}
	}
	infos := make([]Info, 0, len(ps))
	for _, p := range ps {
		p.mu.Lock()
		p.spec = spec
		p.mu.Unlock()
		infos = append(infos, p.info())
	}
	m.saveRuntime()
	return infos, nil
}

// Delete stops the target's processes and forgets them.
func (m *Manager) Delete(ctx context.Context, target string) ([]Info, error) {
	ps, err := m.Resolve(target)
	if err != nil {
		return nil, fmt.Errorf("delete: %w", err)
	}
	infos, err := m.each(ps, func(p *Process) error {
		p.cancelOp()
		p.op.Lock()
		defer p.op.Unlock()
		p.deleted = true
		return p.stop(ctx)
	})
	m.remove(ps)
	for _, in := range infos {
		m.emit(Event{Kind: EventDeleted, ID: in.ID, Name: in.Name})
	}
	return infos, err
}

// each runs fn on every process in parallel and returns their snapshots after.
func (m *Manager) each(ps []*Process, fn func(*Process) error) ([]Info, error) {
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(p)
		}()
	}
	wg.Wait()
	infos := make([]Info, len(ps))
	for i, p := range ps {
		infos[i] = p.info()
	}
	return infos, errors.Join(errs...)
}

// List returns a snapshot of every process, by id.
func (m *Manager) List() []Info {
	m.mu.Lock()
	ps := append([]*Process(nil), m.procs...)
	m.mu.Unlock()
	out := make([]Info, len(ps))
	for i, p := range ps {
		out[i] = p.info()
	}
	return out
}

// Shutdown stops every process and waits for all supervision to end.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	ps := append([]*Process(nil), m.procs...)
	m.mu.Unlock()
	_, err := m.each(ps, func(p *Process) error {
		p.cancelOp()
		p.op.Lock()
		defer p.op.Unlock()
		return p.stop(ctx)
	})
	m.wg.Wait()
	if m.tempDir {
		os.RemoveAll(m.runDir)
	}
	if m.pubDir != "" {
		os.RemoveAll(m.pubDir)
	}
	return err
}
