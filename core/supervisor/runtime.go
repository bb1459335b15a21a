package supervisor

import (
	"os"
	"strconv"
	"time"
)

// Holder keeps the daemon's ends of each run's pipes and channels outside
// the daemon (see core/keeper), so that a daemon killed or re-executing
// itself can be succeeded by one that adopts the runs (see [Manager.Adopt])
// and reads on where it stopped. Keys are "<run>/out", "<run>/err" and
// "<run>/ipc" under a run's prefix ([RunState.Keys]).
type Holder interface {
	// Hold keeps a copy of each file; pipes are drained into a spool while
	// no daemon holds the Holder, others (the IPC socket) just kept.
	Hold(pipes, others map[string]*os.File) error
	// Take returns copies of what is held under prefix, each pipe with what
	// was spooled from it (nil when nothing).
	Take(prefix string) (map[string]Handed, error)
	// Release drops what is held under prefix.
	Release(prefix string)
}

// Handed is one descriptor a [Holder] hands back: the file and, for a
// drained pipe, its spool, to be read before it.
type Handed struct {
	File  *os.File
	Spool *os.File
}

// Runtime is what a daemon knows about its processes that a successor needs
// to adopt them: written (see [Options.OnRuntime]) at every launch, ready,
// stop and exit, read by [Manager.Adopt].
type Runtime struct {
	NextID    int            `json:"next_id"`
	Seq       int            `json:"seq"`
	Processes []ProcessState `json:"processes"`
}

// ProcessState is one process in a [Runtime].
type ProcessState struct {
	ID        int        `json:"id"`
	Instance  int        `json:"instance"`
	Name      string     `json:"name"`
	Log       string     `json:"log"`
	Spec      Spec       `json:"spec"`
	Status    Status     `json:"status"`
	Reason    string     `json:"reason,omitempty"`
	Restarts  int        `json:"restarts"`
	History   []Restart  `json:"history,omitempty"`
	LastExit  *Exit      `json:"last_exit,omitempty"`
	StartedAt time.Time  `json:"started_at"`
	Stopping  bool       `json:"stopping,omitempty"`
	Run       *RunState  `json:"run,omitempty"`     // the run that serves
	Pending   *RunState  `json:"pending,omitempty"` // a reload's new run, not serving yet
	Decisions History    `json:"decisions"`
	Share     *ShareNote `json:"share,omitempty"`
}

// ShareNote records the port a process's instances share (see Adopt for
// what becomes of it).
type ShareNote struct {
	Addr    string `json:"addr"`
	Balance string `json:"balance"`
	Learned bool   `json:"learned,omitempty"`
}

// shareKeys is the prefix of what a [Holder] keeps for the port(s) a
// process's instances share: portKey for each socket, "ln" for a balancer's.
func shareKeys(name string) string { return "s/" + name + "/" }

// ShareKeys is [shareKeys] for the daemon.
func ShareKeys(name string) string { return shareKeys(name) }

func portKey(name string, port int) string { return shareKeys(name) + strconv.Itoa(port) + "/" }

// RunState is one live run in a [Runtime]: enough to know it again (pid and
// the kernel's start time, so a recycled pid is never taken for it) and to
// go on supervising it.
type RunState struct {
	Seq        int       `json:"seq"`
	PID        int       `json:"pid"`
	StartTicks uint64    `json:"start_ticks"` // field 22 of /proc/<pid>/stat; 0 where unknown
	PGID       int       `json:"pgid"`
	Started    time.Time `json:"started"`
	Port       int       `json:"port,omitempty"`
	Notify     string    `json:"notify,omitempty"` // its NOTIFY_SOCKET path
	UID        uint32    `json:"uid"`
	Ready      bool      `json:"ready"`
	Wants      []string  `json:"wants,omitempty"`
	ReadyBy    time.Time `json:"ready_by"`
	IPC        bool      `json:"ipc,omitempty"` // a Node IPC channel is held
}

// Keys is the prefix of what a [Holder] keeps for the run.
func (rs RunState) Keys() string { return runKeys(rs.Seq) }

func runKeys(seq int) string { return "r" + strconv.Itoa(seq) + "/" }

// Runtime returns the state a successor needs to adopt every process.
func (m *Manager) Runtime() Runtime {
	m.mu.Lock()
	ps := append([]*Process(nil), m.procs...)
	rt := Runtime{NextID: m.nextID, Seq: m.seq, Processes: make([]ProcessState, 0, len(ps))}
	m.mu.Unlock()
	for _, p := range ps {
		rt.Processes = append(rt.Processes, p.state())
	}
	return rt
}

func (p *Process) state() ProcessState {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := ProcessState{ID: p.id, Instance: p.instance, Name: p.name, Log: p.logName, Spec: p.spec,
		Status: p.status, Reason: p.reason, Restarts: p.restarts, History: append([]Restart(nil), p.history...),
		StartedAt: p.startedAt, Stopping: p.stopping, Decisions: p.decisions}
	if p.lastExit != nil {
		e := *p.lastExit
		s.LastExit = &e
	}
	if p.share != nil {
		s.Share = &ShareNote{Addr: p.share.addr, Balance: p.share.balance, Learned: p.share.learned}
	}
	if p.cur != nil && p.cur.exit == nil {
		s.Run = p.cur.stateLocked()
	}
	if p.pending != nil && p.pending.exit == nil {
		s.Pending = p.pending.stateLocked()
	}
	return s
}

// stateLocked is the run's [RunState]. The caller holds r.p.mu.
func (r *run) stateLocked() *RunState {
	return &RunState{Seq: r.seq, PID: r.pid, StartTicks: r.startTicks, PGID: r.pgid, Started: r.started,
		Port: r.port, Notify: r.notifyPath, UID: r.uid, Ready: r.isReady, Wants: r.wants, ReadyBy: r.readyBy, IPC: r.hasIPC}
}

// SaveRuntime hands the current [Runtime] to Options.OnRuntime now (the
// Manager does at each change of its own; the daemon when something it
// writes beside changes).
func (m *Manager) SaveRuntime() { m.saveRuntime() }

// saveRuntime hands the current [Runtime] to Options.OnRuntime. Calls are
// serialised, and each snapshot is taken inside the turn, so the last one
// written is the newest.
func (m *Manager) saveRuntime() {
	if m.onRuntime == nil {
		return
	}
	m.rtMu.Lock()
	defer m.rtMu.Unlock()
	if m.detached {
		return
	}
	m.onRuntime(m.Runtime())
}

// Detach readies the Manager for a successor in this same process (a
// daemon re-executing itself, see Options.Holder): nothing starts any more,
// every run's output reader stops at once, after storing what it read, and
// no more [Runtime] is written. It returns the last one. Output printed from
// here on waits in the pipes for the successor. [Manager.Resume] undoes it.
func (m *Manager) Detach() Runtime {
	m.mu.Lock()
	m.closed = true
	ps := append([]*Process(nil), m.procs...)
	m.mu.Unlock()
	var waits []<-chan struct{}
	now := time.Now()
	for _, p := range ps {
		p.mu.Lock()
		for _, r := range p.runsLocked() {
			for _, f := range []*os.File{r.out, r.errp} {
				if f != nil {
					_ = f.SetReadDeadline(now)
				}
			}
			waits = append(waits, r.outDone, r.errDone)
		}
		p.mu.Unlock()
	}
	drainAll(waits, 5*time.Second)
	m.rtMu.Lock()
	defer m.rtMu.Unlock()
	rt := m.Runtime()
	m.detached = true
	return rt
}

// Resume undoes [Manager.Detach] when the successor could not take over:
// the runs' output is read again and the runtime written.
func (m *Manager) Resume() {
	m.mu.Lock()
	m.closed = false
	ps := append([]*Process(nil), m.procs...)
	m.mu.Unlock()
	m.rtMu.Lock()
	m.detached = false
	m.rtMu.Unlock()
	for _, p := range ps {
		p.mu.Lock()
		for _, r := range p.runsLocked() {
			if r.exit != nil {
				continue
			}
			if r.out != nil {
				_ = r.out.SetReadDeadline(time.Time{})
				r.outDone = m.sink.Attach(p.logName, false, r.out, p.spec.Log)
			}
			if r.errp != nil {
				_ = r.errp.SetReadDeadline(time.Time{})
				r.errDone = m.sink.Attach(p.logName, true, r.errp, p.spec.Log)
			}
		}
		p.mu.Unlock()
	}
	m.saveRuntime()
}

// drainAll waits for every channel, all of them together for at most d.
func drainAll(chs []<-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for _, c := range chs {
		if c == nil {
			continue
		}
		select {
		case <-c:
		case <-t.C:
			return
		}
	}
}

// Rehold gives the Holder again what it keeps for every run and shared
// port: for a new keeper after the last one died (the runs' Node IPC
// channels excepted: the Manager keeps no copy of them).
func (m *Manager) Rehold() {
	if m.holder == nil {
		return
	}
	m.mu.Lock()
	ps := append([]*Process(nil), m.procs...)
	var shares []*share
	for _, sh := range m.shares {
		shares = append(shares, sh)
	}
	m.mu.Unlock()
	for _, p := range ps {
		p.mu.Lock()
		pipes := map[string]*os.File{}
		for _, r := range p.runsLocked() {
			if r.exit != nil {
				continue
			}
			if r.out != nil {
				pipes[runKeys(r.seq)+"out"] = r.out
			}
			if r.errp != nil {
				pipes[runKeys(r.seq)+"err"] = r.errp
			}
		}
		p.mu.Unlock()
		if len(pipes) > 0 {
			if err := m.holder.Hold(pipes, nil); err != nil {
				m.log.Warn("hold pipes again", "name", p.name, "err", err)
			}
		}
	}
	m.mu.Lock()
	for _, sh := range shares {
		if sh.refs > 0 {
			m.holdShare(sh)
		}
	}
	m.mu.Unlock()
	m.saveRuntime()
}
