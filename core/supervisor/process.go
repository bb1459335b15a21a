package supervisor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Status is where a process is in its lifecycle.
type Status string

// The statuses a process moves through.
const (
	// Launching: started, not ready yet (see [Spec.WaitReady], ReadyTCP,
	// ReadyHTTP, and a Node program on a shared port).
	Launching Status = "launching"
	Online    Status = "online"
	Stopping  Status = "stopping"
	Stopped   Status = "stopped"
	Waiting   Status = "waiting" // backing off before an automatic restart
	Errored   Status = "errored"
)

// Cause says why a process was (re)started.
type Cause string

// Restart causes other than an exit, which is recorded as its Exit.String().
const (
	CauseManual   Cause = "manual"
	CauseCron     Cause = "cron"
	CauseMemory   Cause = "max_memory"
	CauseWatch    Cause = "watch"
	CauseReload   Cause = "reload"
	CauseWatchdog Cause = "watchdog"
)

// Restart is one entry of a process's restart history.
type Restart struct {
	Time  time.Time `json:"time"`
	Cause string    `json:"cause"`
}

// keptRestarts bounds the per-process restart history.
const keptRestarts = 20

// Info is a consistent snapshot of one process.
type Info struct {
	ID        int
	Name      string
	Instance  int
	Spec      Spec
	Status    Status
	PID       int
	StartedAt time.Time // of the current or last run
	Restarts  int       // every restart, automatic or not
	LastExit  *Exit
	Reason    string // why it is errored or stopped, when it is
	History   []Restart
	NextStart time.Time // when Waiting

	// ReadyWait says what a launching process waits for ("READY=1",
	// "tcp 127.0.0.1:3000" …) and ReadyBy until when.
	ReadyWait []string
	ReadyBy   time.Time
	// Notice is the last STATUS= the program sent on NOTIFY_SOCKET.
	Notice string
	// Listen is the address the process's instances share ("" when Velos
	// holds no port for it), Balance how (socket, round-robin, least-conn)
	// and Port the PORT this instance was given.
	Listen  string
	Balance string
	Port    int
	// Lag is the event-loop lag a Node program reported, nil otherwise.
	Lag *Lag
	// Run numbers the current run in the Manager: the balancer's id for it.
	Run int
	// Log is the name its log files carry (see LogName).
	Log string
}

// Lag is a Node program's event-loop delay over the last report interval.
type Lag struct {
	P50, P99, Max time.Duration
	At            time.Time
}

// LogName is the name its log files carry: the process name, or name-i for
// one instance of several. It is fixed when the instance is made, so that
// scaling a process does not move an instance's logs.
func (i Info) LogName() string {
	if i.Log != "" {
		return i.Log
	}
	if i.Spec.Instances > 1 {
		return i.Name + "-" + strconv.Itoa(i.Instance)
	}
	return i.Name
}

// Process is one supervised instance and its supervision goroutine. Each
// time it runs a program it does so as a [run]; a reload overlaps two runs.
type Process struct {
	m        *Manager
	id       int
	instance int
	name     string // never changes: read without a lock
	logName  string // fixed at creation: see Info.LogName

	// op serialises the operations asked for from outside — stop, restart,
	// reload, delete — so two restarts at once cannot start two children.
	op      sync.Mutex
	deleted bool // guarded by op: a deleted process is never launched again

	mu        sync.Mutex
	spec      Spec
	status    Status
	cur       *run // the run that serves; nil between runs
	pending   *run // a run a reload started, not serving yet
	startedAt time.Time
	restarts  int
	lastExit  *Exit
	reason    string
	history   []Restart
	nextStart time.Time
	decisions History
	// startCause is the cause of the restart about to happen, reported with
	// the next EventStarted.
	startCause string
	stopping   bool          // a stop was asked for: the loop must not restart
	everReady  bool          // a run has been ready since the last launch
	wake       chan struct{} // closed to cut a backoff wait short
	done       chan struct{} // closed when the supervision loop has ended
	changed    chan struct{} // closed and renewed at every status change
	swapped    chan struct{} // closed and renewed when a reload replaces cur
	share      *share        // the port shared with the other instances, held while supervised
	// opCancel cuts short the long operation holding op (a reload, a
	// restart waiting for readiness), so that a stop need not wait for it.
	opCancel context.CancelFunc
}

// beginOp derives the context of a long operation on p that a stop may
// cut short. The caller holds p.op; it calls end when done.
func (p *Process) beginOp(ctx context.Context) (_ context.Context, end func()) {
	ctx, cancel := context.WithCancel(ctx)
	p.mu.Lock()
	p.opCancel = cancel
	p.mu.Unlock()
	return ctx, func() {
		p.mu.Lock()
		p.opCancel = nil
		p.mu.Unlock()
		cancel()
	}
}

// cancelOp cuts short the operation in flight on p, if any, before a stop
// waits for p.op.
func (p *Process) cancelOp() {
	p.mu.Lock()
	c := p.opCancel
	p.mu.Unlock()
	if c != nil {
		c()
	}
}

func (p *Process) info() Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	in := Info{
		ID: p.id, Name: p.name, Instance: p.instance, Log: p.logName, Spec: p.spec, Status: p.status,
		StartedAt: p.startedAt, Restarts: p.restarts, Reason: p.reason,
		History: append([]Restart(nil), p.history...), NextStart: p.nextStart,
	}
	if p.lastExit != nil {
		e := *p.lastExit
		in.LastExit = &e
	}
	if p.share != nil {
		in.Listen, in.Balance = p.share.addr, p.share.balance
	}
	if r := p.cur; r != nil {
		in.PID, in.Port, in.Notice, in.Run = r.pid, r.port, r.notice, r.seq
		if r.lag != nil {
			l := *r.lag
			in.Lag = &l
		}
		if p.status == Launching {
			in.ReadyWait, in.ReadyBy = append([]string(nil), r.wants...), r.readyBy
		}
	}
	return in
}

// setStatus changes the status and wakes whoever waits for a change. The
// caller holds p.mu.
func (p *Process) setStatus(s Status) {
	p.status = s
	p.changedLocked()
}

func (p *Process) changedLocked() {
	if p.changed != nil {
		close(p.changed)
	}
	p.changed = make(chan struct{})
}

func (p *Process) recordRestart(cause string) {
	p.startCause = cause
	p.restarts++
	p.history = append(p.history, Restart{Time: p.m.now(), Cause: cause})
	if len(p.history) > keptRestarts {
		p.history = p.history[len(p.history)-keptRestarts:]
	}
}

// launch starts the supervision loop with a first run. keep, when not nil,
// is the share an earlier supervision held (a restart), with a reference
// taken for this one: the port stays bound across the restart. Nothing is
// launched once the Manager is shutting down. The caller holds no lock.
func (p *Process) launch(keep *share) error {
	m := p.m
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.releaseShare(keep)
		return fmt.Errorf("start %s: %w", p.name, ErrClosed)
	}
	m.wg.Add(1) // under m.mu: Shutdown's Wait sees every launch it let through
	m.mu.Unlock()
	p.mu.Lock()
	p.stopping, p.everReady = false, false
	p.done = make(chan struct{})
	p.wake = make(chan struct{})
	p.swapped = make(chan struct{})
	spec := p.spec
	p.mu.Unlock()
	sh, err := keep, error(nil)
	if sh == nil {
		sh, err = m.acquireShare(spec)
	}
	if err == nil {
		p.mu.Lock()
		p.share = sh
		p.mu.Unlock()
		var r *run
		if r, err = p.spawn(spec, false, ""); err == nil {
			go p.supervise(r)
			return nil
		}
	}
	p.mu.Lock()
	p.restUnlock(Errored, err.Error())
	m.wg.Done()
	return err
}

// restUnlock ends supervision: the process rests with status st and
// reason, its share is given back (outside p.mu: the Manager's lock is
// never taken under a process's) and done is closed. The caller holds
// p.mu; restUnlock releases it.
func (p *Process) restUnlock(st Status, reason string) {
	p.reason = reason
	p.setStatus(st)
	sh, done := p.share, p.done
	p.share = nil
	p.mu.Unlock()
	p.m.releaseShare(sh)
	close(done)
}

// keepShare takes one more reference on p's share, if it still fits spec,
// for a restart to hand to the next launch; nil otherwise.
func (p *Process) keepShare(spec Spec) *share {
	p.mu.Lock()
	sh := p.share
	p.mu.Unlock()
	if sh == nil || !sh.fits(spec) {
		return nil
	}
	p.m.mu.Lock()
	sh.refs++
	p.m.mu.Unlock()
	return sh
}

// supervise waits for each run to end and applies the restart policy. A run
// replaced by a reload ends without a decision: the loop follows the new one.
func (p *Process) supervise(r *run) {
	defer p.m.wg.Done()
	for {
		p.mu.Lock()
		if p.cur != nil {
			r = p.cur // a reload may have swapped in a new run
		}
		swapped := p.swapped
		p.mu.Unlock()
		select {
		case <-r.ended:
		case <-swapped:
			p.mu.Lock()
			r = p.cur
			p.mu.Unlock()
			continue
		}

		p.mu.Lock()
		if p.cur != r { // replaced by a reload while it ended
			r = p.cur
			p.mu.Unlock()
			continue
		}
		e := *r.exit
		p.lastExit = &e
		p.cur = nil
		name := p.name
		if p.stopping {
			p.restUnlock(Stopped, "")
			p.m.saveRuntime()
			p.m.emit(Event{Kind: EventStopped, ID: p.id, Name: name, Exit: &e})
			return
		}
		d, h := Decide(p.spec, e, p.m.now(), p.decisions)
		p.decisions = h
		if !d.Restart {
			p.restUnlock(d.Status, d.Reason)
			p.m.saveRuntime()
			p.m.emit(Event{Kind: EventExited, ID: p.id, Name: name, Exit: &e, Reason: d.Reason})
			return
		}
		p.nextStart = p.m.now().Add(d.Delay)
		p.setStatus(Waiting)
		wake := p.wake
		p.mu.Unlock()
		p.m.saveRuntime()
		p.m.emit(Event{Kind: EventCrashed, ID: p.id, Name: name, Exit: &e, Delay: d.Delay})

		if d.Delay > 0 {
			t := time.NewTimer(d.Delay)
			select {
			case <-t.C:
			case <-wake:
				t.Stop()
			}
		}
		p.mu.Lock()
		if p.stopping {
			p.nextStart = time.Time{}
			p.restUnlock(Stopped, "")
			p.m.saveRuntime()
			return
		}
		if p.cur != nil { // a reload started a new run during the backoff
			r = p.cur
			p.nextStart = time.Time{}
			p.mu.Unlock()
			continue
		}
		p.recordRestart(e.String())
		spec := p.spec
		p.mu.Unlock()
		next, err := p.spawn(spec, false, "")
		if err != nil {
			p.mu.Lock()
			p.restUnlock(Errored, err.Error())
			p.m.saveRuntime()
			return
		}
		r = next
	}
}

// awaitStarted waits until the process is online (ready), or has come to
// rest (errored, stopped), or until deadline. Runs that crash before they
// are ready are restarted by the policy meanwhile: only the end state counts.
func (p *Process) awaitStarted(ctx context.Context, deadline time.Time) error {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	p.mu.Lock()
	before := p.lastExit
	p.mu.Unlock()
	for {
		p.mu.Lock()
		st, reason, changed, name := p.status, p.reason, p.changed, p.name
		var wants []string
		if p.cur != nil {
			wants = p.cur.wants
		}
		var failed string
		if p.lastExit != before && p.lastExit != nil {
			failed = p.lastExit.Reason // not ready in time, or a watchdog
		}
		ready := p.everReady
		p.mu.Unlock()
		if ready {
			return nil // what happens after it was ready is not the start's
		}
		if failed != "" && st != Online {
			return fmt.Errorf("start %s: %s", name, failed)
		}
		switch st {
		case Online:
			return nil
		case Errored, Stopped:
			if reason == "" {
				reason = string(st)
			}
			return fmt.Errorf("start %s: %s", name, reason)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("start %s: %w", name, ctx.Err())
		case <-t.C:
			p.mu.Lock()
			var fail string
			if p.cur != nil {
				fail = p.cur.fail // failed, still stopping
			}
			p.mu.Unlock()
			if fail != "" {
				return fmt.Errorf("start %s: %s", name, fail)
			}
			what := "ready"
			if len(wants) > 0 {
				what = joinWants(wants)
			}
			return fmt.Errorf("start %s: not ready in time (waiting for %s)", name, what)
		}
	}
}

// started waits for the process to be ready (see awaitStarted); a start
// that fails — not ready in time, or at rest first — leaves it stopped and
// errored with the reason, as velos start does, unless ctx was cancelled
// (a stop came: it decides). The caller holds p.op.
func (p *Process) started(ctx context.Context, spec Spec) error {
	err := p.awaitStarted(ctx, time.Now().Add(readyTimeout(spec)+time.Second))
	if err == nil || ctx.Err() != nil {
		return err
	}
	_ = p.stop(context.Background())
	p.mu.Lock()
	p.reason = err.Error()
	p.setStatus(Errored)
	p.mu.Unlock()
	return err
}

// stop ends the process gracefully: its kill signal to the group of every
// run it has, then SIGKILL after the kill timeout. It returns once the
// supervision loop has ended.
func (p *Process) stop(ctx context.Context) error {
	p.mu.Lock()
	done := p.done
	if done == nil { // never launched
		p.mu.Unlock()
		return nil
	}
	select {
	case <-done:
		p.mu.Unlock()
		return nil
	default:
	}
	first := !p.stopping
	p.stopping = true
	if first && p.status == Waiting {
		close(p.wake)
	}
	if p.status == Online || p.status == Launching {
		p.setStatus(Stopping)
	}
	runs := p.runsLocked()
	spec, sh := p.spec, p.share
	p.mu.Unlock()
	if first {
		p.m.saveRuntime() // a successor must not restart what was being stopped
	}

	for _, r := range runs {
		sh.outOfRotation(r)
		r.signal(killSignal(spec))
	}
	t := time.NewTimer(spec.KillTimeout)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	p.mu.Lock()
	runs = p.runsLocked()
	p.mu.Unlock()
	for _, r := range runs {
		r.signal(syscall.SIGKILL)
	}
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("stop " + spec.Name + ": process did not exit after SIGKILL")
	}
}

// runsLocked lists the runs that may still have a child. The caller holds p.mu.
func (p *Process) runsLocked() []*run {
	var rs []*run
	for _, r := range []*run{p.cur, p.pending} {
		if r != nil {
			rs = append(rs, r)
		}
	}
	return rs
}

func killSignal(s Spec) syscall.Signal {
	sig, err := ParseSignal(s.KillSignal)
	if err != nil {
		sig, _ = ParseSignal(DefaultKillSignal)
	}
	return sig
}

// doneChan is closed when the current supervision ends.
func (p *Process) doneChan() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// ID is the process's numeric id.
func (p *Process) ID() int { return p.id }

// joinWants renders what readiness waits for: "READY=1 and tcp :3000".
func joinWants(w []string) string {
	s := ""
	for i, x := range w {
		if i > 0 {
			s += " and "
		}
		s += x
	}
	return s
}
