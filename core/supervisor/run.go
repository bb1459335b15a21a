package supervisor

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// run is one execution of a process's program: the child, its output, the
// channels it may talk back on (NOTIFY_SOCKET, Node's IPC) and its
// readiness. A process has one run at a time, two during a reload.
type run struct {
	p       *Process
	seq     int // unique in the Manager: the balancer's name for it
	spec    Spec
	pid     int
	started time.Time
	port    int      // the PORT it was given (0: none)
	wants   []string // what readiness waits for, for people
	readyBy time.Time

	ready     chan struct{} // closed once ready
	ended     chan struct{} // closed once exited, its output stored and exit recorded
	gotReady  chan struct{} // closed on READY=1 or process.send('ready')
	gotListen chan struct{} // closed when the Node preload listens on the shared port
	pings     chan struct{} // WATCHDOG=1
	watchdogs chan time.Duration

	// Guarded by p.mu.
	pgid    int // 0 once the leader is reaped: the group id may be reused
	isReady bool
	exit    *Exit
	fail    string // why Velos ended it (not ready, watchdog): the restart cause
	notice  string // STATUS=
	lag     *Lag
	closers []io.Closer
	flags   runFlags
	took    []int // the learnt ports this run listens on

	uid uint32 // the child's user, for notify datagrams whose sender is gone

	startTicks uint64   // the kernel's start time of pid (see RunState)
	notifyPath string   // its NOTIFY_SOCKET
	hasIPC     bool     // its Node IPC channel is held (see Holder)
	out, errp  *os.File // our read ends of its stdout and stderr
	// Closed once the log sink has stored all it read from out and errp;
	// guarded by p.mu (Resume replaces them).
	outDone, errDone <-chan struct{}
}

// runFlags remember one-shot signals so their channels close once.
type runFlags struct{ ready, listening bool }

// signal sends sig to the run's process group, and SIGCONT after it so that
// a stopped (SIGSTOP) program can act on it.
func (r *run) signal(sig syscall.Signal) {
	r.p.mu.Lock()
	pgid := r.pgid
	r.p.mu.Unlock()
	signalGroup(pgid, sig)
	if sig != syscall.SIGKILL {
		continueGroup(pgid)
	}
}

// terminate ends the run: sig, then SIGKILL after grace. It returns once the
// run has ended (bounded: a child that survives SIGKILL is not waited for
// forever).
func (r *run) terminate(sig syscall.Signal, grace time.Duration) {
	r.signal(sig)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-r.ended:
		return
	case <-t.C:
	}
	r.signal(syscall.SIGKILL)
	select {
	case <-r.ended:
	case <-time.After(10 * time.Second):
	}
}

// closeOnce closes ch unless *done says it already was. The caller holds p.mu.
func closeOnce(ch chan struct{}, done *bool) {
	if !*done {
		*done = true
		close(ch)
	}
}

// spawn starts one run of spec: a new process group, output into the log
// sink, the port and channels set up. With pending it is a reload's new run
// that does not serve until the reload swaps it in.
func (p *Process) spawn(spec Spec, pending bool, reloadCause string) (*run, error) {
	path, err := exec.LookPath(spec.Command[0])
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	r := &run{p: p, seq: p.m.nextSeq(), spec: spec,
		ready: make(chan struct{}), ended: make(chan struct{}), gotReady: make(chan struct{}),
		gotListen: make(chan struct{}), pings: make(chan struct{}, 1), watchdogs: make(chan time.Duration, 1)}
	p.mu.Lock()
	sh := p.share
	p.mu.Unlock()
	if sh == nil && spec.Learns() {
		sh = p.attachLearnt()
	}

	id, err := identityFor(spec)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	r.uid = id.uid()
	argv := append([]string{path}, spec.Command[1:]...)
	env := p.environ(spec)
	var files []*os.File   // the child's fds from 3 on
	var mine []io.Closer   // ours, closed when the run ends
	var theirs []io.Closer // the child's ends, closed once it has them
	var ipc *os.File       // our end of Node's IPC channel
	fail := func(err error) (*run, error) {
		if ipc != nil {
			ipc.Close()
		}
		closeAll(mine)
		closeAll(theirs)
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}

	// What readiness waits for: what the spec asks for, else what Velos
	// needs to know to route to it.
	var probes readiness
	explicit := spec.WaitReady || spec.ReadyTCP != "" || spec.ReadyHTTP != ""
	var socks []*sock
	if sh != nil {
		p.m.mu.Lock()
		socks = append(socks, sh.socks...)
		ports, hosts := sh.ports()
		p.m.mu.Unlock()
		switch sh.balance {
		case BalanceSocket:
			names := make([]string, len(socks))
			for i, s := range socks {
				files = append(files, s.file)
				names[i] = spec.Name
			}
			r.port = sh.port
			if len(socks) > 0 {
				env = append(env, "LISTEN_FDS="+strconv.Itoa(len(socks)), "LISTEN_FDNAMES="+strings.Join(names, ":"), "VELOS_LISTEN_PORTS="+ports, "VELOS_LISTEN_HOSTS="+hosts)
			}
			if _, set := spec.Env["PORT"]; !set && !sh.learned {
				env = append(env, "PORT="+strconv.Itoa(sh.port))
			}
		default:
			port, err := freePort()
			if err != nil {
				return fail(err)
			}
			r.port = port
			env = setEnv(env, "PORT", strconv.Itoa(port))
			if !explicit {
				probes.tcp = "127.0.0.1:" + strconv.Itoa(port)
			}
		}
	}
	if r.port == 0 {
		// Without a port of Velos's, $PORT in a probe is the program's own.
		if n, err := strconv.Atoi(spec.Env["PORT"]); err == nil {
			r.port = n
		}
	}
	asked := specProbes(spec, r.port)
	if asked.tcp != "" {
		probes.tcp = asked.tcp // over the probe of the port Velos gave it
	}
	probes.http, probes.notify = asked.http, asked.notify

	if isNode(spec.Command[0]) && spec.Env["VELOS_NODE_PRELOAD"] != "0" {
		if pre, err := p.m.nodePreload(id != nil); err == nil {
			argv = append([]string{argv[0], "-r", pre}, argv[1:]...)
			env = append(env, "VELOS_STOP_SIGNAL="+killSignalName(spec))
		} else if sh != nil && sh.balance == BalanceSocket {
			return fail(err)
		} else {
			p.m.log.Warn("node preload", "name", spec.Name, "err", err)
		}
		if parent, child, err := ipcPair(); err == nil {
			files = append(files, child)
			theirs = append(theirs, child)
			ipc = parent
			env = append(env, "NODE_CHANNEL_FD="+strconv.Itoa(2+len(files)), "NODE_CHANNEL_SERIALIZATION_MODE=json")
		} else {
			p.m.log.Warn("node ipc", "name", spec.Name, "err", err)
		}
		// On a port Velos bound for it, a Node program is ready once it
		// listens. On learnt sockets only a reload waits for that (the old
		// run serves meanwhile); a first start or a restart never needed it.
		if len(socks) > 0 && !explicit && (!sh.learned || pending) {
			probes.listening = true
		}
		if spec.Learns() {
			env = append(env, "VELOS_LEARN=1")
		}
	}
	var notify net.PacketConn
	if conn, sock, err := p.m.notifySocket(r.seq, id != nil); err == nil {
		mine = append(mine, conn)
		notify = conn
		r.notifyPath = sock
		env = append(env, "NOTIFY_SOCKET="+sock)
	} else if spec.WaitReady || spec.Watchdog > 0 {
		return fail(fmt.Errorf("notify socket: %w", err))
	}
	if spec.Watchdog > 0 {
		env = append(env, "WATCHDOG_USEC="+strconv.FormatInt(spec.Watchdog.Microseconds(), 10))
	}

	var cmd *exec.Cmd
	if len(socks) > 0 {
		// sd_listen_fds(3) takes the fds only when LISTEN_PID is the
		// reader's pid, which exists only once forked: a shell sets it and
		// execs the program, keeping the pid.
		cmd = exec.Command("/bin/sh", append([]string{"-c", `LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"`}, argv...)...)
	} else {
		cmd = exec.Command(argv[0], argv[1:]...)
		cmd.Args[0] = spec.Command[0]
	}
	cmd.Dir = spec.Cwd
	cmd.Env = env
	cmd.ExtraFiles = files
	setProcessGroup(cmd)
	id.apply(cmd)

	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(fmt.Errorf("stdout pipe: %w", err))
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return fail(fmt.Errorf("stderr pipe: %w", err))
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		return fail(err)
	}
	// The child holds its ends now; ours must close so the readers see EOF
	// when the child (and any grandchild sharing the pipe) is gone.
	outW.Close()
	errW.Close()
	closeAll(theirs)
	r.startTicks, _ = startTicks(cmd.Process.Pid)
	r.out, r.errp = outR, errR
	if h := p.m.holder; h != nil {
		// Before anything reads them, and before the runtime file names
		// the run: what a successor finds there, the keeper holds.
		others := map[string]*os.File{}
		if ipc != nil {
			others[runKeys(r.seq)+"ipc"] = ipc
		}
		if err := h.Hold(map[string]*os.File{runKeys(r.seq) + "out": outR, runKeys(r.seq) + "err": errR}, others); err != nil {
			p.m.log.Warn("hold pipes", "name", spec.Name, "err", err)
		} else {
			r.hasIPC = ipc != nil
		}
	}
	logName := Info{Name: spec.Name, Instance: p.instance, Log: p.logName, Spec: spec}.LogName()
	outDone := p.m.sink.Attach(logName, false, outR, spec.Log)
	errDone := p.m.sink.Attach(logName, true, errR, spec.Log)

	r.outDone, r.errDone = outDone, errDone
	now := p.m.now()
	r.pid, r.started = cmd.Process.Pid, now
	r.wants = probes.describe()
	timeout := spec.ListenTimeout
	if timeout <= 0 {
		timeout = DefaultListenTimeout
	}
	r.readyBy = now.Add(timeout)

	p.mu.Lock()
	r.pgid = cmd.Process.Pid
	r.closers = mine
	var cause string
	stopping, superseded := p.stopping, false
	switch {
	case pending:
		p.pending = r
		cause = reloadCause
	case p.cur != nil:
		// A reload swapped a run in while this one was being started (after
		// a crash): that one serves, this one goes.
		superseded = true
	default:
		p.cur = r
		p.startedAt, p.reason, p.nextStart = now, "", time.Time{}
		cause = p.startCause
		p.startCause = ""
		if len(r.wants) > 0 {
			p.setStatus(Launching)
		} else {
			p.setStatus(Online)
		}
	}
	p.mu.Unlock()
	p.m.saveRuntime()
	if ipc != nil {
		go r.readIPC(ipc)
	}
	if notify != nil {
		go r.readNotify(notify)
	}
	go r.wait(cmd, outR, errR)
	if superseded || stopping && !pending {
		// A stop that came while this run was being started must still end
		// it, as must a run a reload overtook.
		go r.terminate(killSignal(spec), spec.KillTimeout)
		return r, nil
	}
	p.m.emit(Event{Kind: EventStarted, ID: p.id, Name: spec.Name, PID: r.pid, Cause: cause})

	go r.watchdog(spec.Watchdog)
	if len(r.wants) == 0 {
		if pending {
			// A reload with nothing to wait for: the new run is ready once it
			// has lived a moment, so one that dies at boot aborts the reload
			// instead of replacing a working one.
			go r.settle(min(spec.Backoff.MinUptime, settleTime))
		} else {
			p.markReady(r)
		}
	} else {
		go r.awaitReadiness(probes, timeout)
	}
	if spec.Learns() {
		go r.pruneLearnt(learnGrace)
	}
	return r, nil
}

// settleTime bounds how long a reload's new run with no readiness to wait
// for must live before it replaces the old one.
const settleTime = 2 * time.Second

// settle makes r ready once it has run for d.
func (r *run) settle(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		r.p.markReady(r)
	case <-r.ended:
	}
}

// wait reaps the child, stores its output and records the exit.
func (r *run) wait(cmd *exec.Cmd, outR, errR *os.File) {
	waitExited(cmd.Process.Pid)
	err := cmd.Wait()
	r.finish(exitOf(cmd.ProcessState, err), outR, errR)
}

// finish records how the run ended, once its output is stored.
func (r *run) finish(e Exit, outR, errR io.Closer) {
	p := r.p
	// Whatever the leader left behind in its group goes with it: no orphans.
	killGroup(r.pid)
	p.mu.Lock()
	r.pgid = 0
	outDone, errDone := r.outDone, r.errDone
	p.mu.Unlock()
	drain(outDone, errDone)
	if outR != nil {
		outR.Close()
	}
	if errR != nil {
		errR.Close()
	}
	if h := p.m.holder; h != nil {
		h.Release(runKeys(r.seq))
	}
	p.mu.Lock()
	e.Uptime = p.m.now().Sub(r.started)
	if r.fail != "" {
		e.Reason = r.fail
	}
	e.NeverReady = !r.isReady
	r.exit = &e
	closers := r.closers
	r.closers = nil
	p.share.forget(r)
	p.mu.Unlock()
	closeAll(closers)
	close(r.ended)
}

// markReady makes r count as ready: the process is online, and behind a
// balancer the run takes connections.
func (p *Process) markReady(r *run) {
	p.mu.Lock()
	if r.isReady {
		p.mu.Unlock()
		return
	}
	r.isReady = true
	close(r.ready)
	if p.cur == r {
		p.everReady = true
		if p.status == Launching {
			p.setStatus(Online)
		} else {
			p.changedLocked()
		}
	}
	if !p.stopping && r.exit == nil {
		// Under p.mu: wait() forgets an ended run under it too, so a run
		// that ended meanwhile is never added back.
		p.share.inRotation(r)
	}
	name := p.name
	p.mu.Unlock()
	p.m.saveRuntime()
	p.m.emit(Event{Kind: EventReady, ID: p.id, Name: name, PID: r.pid})
}

// failRun ends r because Velos judged it failed (not ready in time, watchdog);
// the reason becomes its exit's restart cause.
func (p *Process) failRun(r *run, reason string) {
	p.mu.Lock()
	if r.fail == "" {
		r.fail = reason
	}
	spec := p.spec
	p.mu.Unlock()
	p.m.log.Warn("process failed", "name", spec.Name, "pid", r.pid, "reason", reason)
	r.terminate(killSignal(spec), spec.KillTimeout)
}

func closeAll(cs []io.Closer) {
	for _, c := range cs {
		_ = c.Close()
	}
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

// setEnv sets k in env, replacing every earlier value.
func setEnv(env []string, k, v string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, k+"=") {
			out = append(out, kv)
		}
	}
	return append(out, k+"="+v)
}

// isNode reports whether the program is Node.js (the preload and the IPC
// channel apply).
func isNode(cmd string) bool {
	switch strings.TrimSuffix(filepath.Base(cmd), ".exe") {
	case "node", "nodejs":
		return true
	}
	return false
}

func killSignalName(s Spec) string {
	if s.KillSignal == "" {
		return DefaultKillSignal
	}
	if strings.HasPrefix(s.KillSignal, "SIG") {
		return s.KillSignal
	}
	return "SIG" + s.KillSignal
}
