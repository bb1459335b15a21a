package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Status is where a process is in its lifecycle.
type Status string

// The statuses a process moves through.
const (
	Online   Status = "online"
	Stopping Status = "stopping"
	Stopped  Status = "stopped"
	Waiting  Status = "waiting" // backing off before an automatic restart
	Errored  Status = "errored"
)

// Cause says why a process was (re)started.
type Cause string

// Restart causes other than an exit, which is recorded as its Exit.String().
const (
	CauseManual Cause = "manual"
	CauseCron   Cause = "cron"
	CauseMemory Cause = "max_memory"
	CauseWatch  Cause = "watch"
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
}

// LogName is the name its log files carry: the process name, or name-i for
// one instance of several.
func (i Info) LogName() string {
	if i.Spec.Instances > 1 {
		return i.Name + "-" + strconv.Itoa(i.Instance)
	}
	return i.Name
}

// Process is one supervised child and its supervision goroutine.
type Process struct {
	m        *Manager
	id       int
	instance int

	// op serialises the operations asked for from outside — stop, restart,
	// delete — so two restarts at once cannot start two children.
	op      sync.Mutex
	deleted bool // guarded by op: a deleted process is never launched again

	mu        sync.Mutex
	spec      Spec
	status    Status
	pid       int
	pgid      int
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
	wake       chan struct{} // closed to cut a backoff wait short
	done       chan struct{} // closed when the supervision loop has ended
}

func (p *Process) info() Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	in := Info{
		ID: p.id, Name: p.spec.Name, Instance: p.instance, Spec: p.spec, Status: p.status,
		PID: p.pid, StartedAt: p.startedAt, Restarts: p.restarts, Reason: p.reason,
		History: append([]Restart(nil), p.history...), NextStart: p.nextStart,
	}
	if p.lastExit != nil {
		e := *p.lastExit
		in.LastExit = &e
	}
	return in
}

func (p *Process) recordRestart(cause string) {
	p.startCause = cause
	p.restarts++
	p.history = append(p.history, Restart{Time: p.m.now(), Cause: cause})
	if len(p.history) > keptRestarts {
		p.history = p.history[len(p.history)-keptRestarts:]
	}
}

// launch starts the supervision loop. The caller holds no lock.
func (p *Process) launch() error {
	p.mu.Lock()
	p.stopping = false
	p.done = make(chan struct{})
	p.wake = make(chan struct{})
	p.mu.Unlock()
	wait, err := p.spawn()
	if err != nil {
		p.mu.Lock()
		p.status, p.reason, p.pid = Errored, err.Error(), 0
		close(p.done)
		p.mu.Unlock()
		return err
	}
	p.m.wg.Add(1)
	go p.supervise(wait)
	return nil
}

// spawn starts one run: a new process group, output into the log sink. The
// returned wait blocks until the run has ended and its output is stored, and
// records the exit.
func (p *Process) spawn() (wait func(), err error) {
	p.mu.Lock()
	spec := p.spec
	p.mu.Unlock()

	path, err := exec.LookPath(spec.Command[0])
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	cmd := exec.Command(path, spec.Command[1:]...)
	cmd.Args[0] = spec.Command[0]
	cmd.Dir = spec.Cwd
	cmd.Env = p.environ(spec)
	setProcessGroup(cmd)

	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: stdout pipe: %w", spec.Name, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("start %s: stderr pipe: %w", spec.Name, err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	// The child holds the write ends now; ours must close so the readers see
	// EOF when the child (and any grandchild sharing the pipe) is gone.
	outW.Close()
	errW.Close()
	logName := p.info().LogName()
	outDone := p.m.sink.Attach(logName, false, outR, spec.Log)
	errDone := p.m.sink.Attach(logName, true, errR, spec.Log)

	p.mu.Lock()
	p.status, p.pid, p.pgid, p.startedAt, p.reason = Online, cmd.Process.Pid, cmd.Process.Pid, p.m.now(), ""
	p.nextStart = time.Time{}
	// A stop that came while this run was being started must still end it.
	stopping := p.stopping
	cause := p.startCause
	p.startCause = ""
	p.mu.Unlock()
	if stopping {
		signalGroup(cmd.Process.Pid, killSignal(spec))
	}
	p.m.emit(Event{Kind: EventStarted, ID: p.id, Name: spec.Name, PID: cmd.Process.Pid, Cause: cause})

	return func() {
		err := cmd.Wait()
		e := exitOf(cmd.ProcessState, err)
		// Whatever the leader left behind in its group goes with it: no orphans.
		killGroup(cmd.Process.Pid)
		// From here the group id may be reused: stop must not signal it.
		p.mu.Lock()
		p.pgid = 0
		p.mu.Unlock()
		drain(outDone, errDone)
		outR.Close()
		errR.Close()
		p.mu.Lock()
		e.Uptime = p.m.now().Sub(p.startedAt)
		p.lastExit = &e
		p.mu.Unlock()
	}, nil
}

func killGroup(pgid int) { signalGroup(pgid, syscall.SIGKILL) }

// exitOf reads how a run ended from what cmd.Wait returned.
func exitOf(ps *os.ProcessState, err error) Exit {
	if ps == nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			ps = ee.ProcessState
		}
	}
	if ps == nil {
		return Exit{Code: -1}
	}
	if sig := signalOf(ps); sig != "" {
		return Exit{Code: -1, Signal: sig}
	}
	return Exit{Code: ps.ExitCode()}
}

// drain waits for the log readers to write what the child printed, bounded so
// that a grandchild that escaped the group and holds the pipe cannot wedge us.
func drain(chs ...<-chan struct{}) {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	for _, c := range chs {
		select {
		case <-c:
		case <-t.C:
			return
		}
	}
}

func (p *Process) environ(s Spec) []string {
	env := os.Environ()
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+s.Env[k])
	}
	return append(env,
		"VELOS_NAME="+s.Name,
		"VELOS_ID="+strconv.Itoa(p.id),
		"VELOS_INSTANCE="+strconv.Itoa(p.instance),
	)
}

// supervise waits for each run to end and applies the restart policy.
func (p *Process) supervise(wait func()) {
	defer p.m.wg.Done()
	for {
		wait()

		p.mu.Lock()
		e := *p.lastExit
		name := p.spec.Name // p.spec may be swapped by Update once unlocked
		p.pid, p.pgid = 0, 0
		if p.stopping {
			p.status, p.reason = Stopped, ""
			close(p.done)
			p.mu.Unlock()
			p.m.emit(Event{Kind: EventStopped, ID: p.id, Name: name, Exit: &e})
			return
		}
		d, h := Decide(p.spec, e, p.m.now(), p.decisions)
		p.decisions = h
		if !d.Restart {
			p.status, p.reason = d.Status, d.Reason
			close(p.done)
			p.mu.Unlock()
			p.m.emit(Event{Kind: EventExited, ID: p.id, Name: name, Exit: &e, Reason: d.Reason})
			return
		}
		p.status = Waiting
		p.nextStart = p.m.now().Add(d.Delay)
		wake := p.wake
		p.mu.Unlock()
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
			p.status, p.nextStart = Stopped, time.Time{}
			close(p.done)
			p.mu.Unlock()
			return
		}
		p.recordRestart(e.String())
		p.status = Waiting // still: a stop now waits for spawn to finish
		p.mu.Unlock()
		next, err := p.spawn()
		if err != nil {
			p.mu.Lock()
			p.status, p.reason = Errored, err.Error()
			close(p.done)
			p.mu.Unlock()
			return
		}
		wait = next
	}
}

// stop ends the process gracefully: its kill signal to the group, then
// SIGKILL to the group after the kill timeout. It returns once the
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
	if p.status == Online {
		p.status = Stopping
	}
	pgid, spec := p.pgid, p.spec
	p.mu.Unlock()

	if pgid > 0 {
		signalGroup(pgid, killSignal(spec))
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
	pgid = p.pgid
	p.mu.Unlock()
	killGroup(pgid)
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("stop " + spec.Name + ": process did not exit after SIGKILL")
	}
}

func killSignal(s Spec) syscall.Signal {
	sig, err := ParseSignal(s.KillSignal)
	if err != nil {
		sig, _ = ParseSignal(DefaultKillSignal)
	}
	return sig
}

// ID is the process's numeric id.
func (p *Process) ID() int { return p.id }
