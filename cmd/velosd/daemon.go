package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/balance"
	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/core/events"
	"github.com/velos-pm/velos/core/logs"
	"github.com/velos-pm/velos/core/metrics"
	"github.com/velos-pm/velos/core/state"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/core/trace"
	"github.com/velos-pm/velos/handlers"
	"github.com/velos-pm/velos/prompts"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/resources"
)

// daemonCmd is what velosd's flags ask for (see main.go).
type daemonCmd struct {
	monitorFlags
	// Resurrect starts the processes saved with velos save before serving.
	Resurrect bool
}

// monitorFlags are the daemon's monitoring settings. Each also reads an
// environment variable, so a daemon autostarted by the CLI (which inherits
// the CLI's environment) can be configured too.
type monitorFlags struct {
	MetricsAddr        string
	MetricsAllowRemote bool
	SampleInterval     time.Duration
	LogErrorInterval   time.Duration
}

// eventBacklog is how many events velos://events keeps: a few screens,
// a read of which stays well under an MCP message's comfortable size.
const eventBacklog = 256

// Run serves until SIGTERM/SIGINT or daemon_kill, then stops every process
// gracefully and flushes logs.
func (c daemonCmd) Run(home daemon.Home) error {
	up := upgradeFrom{prev: os.Getenv(upgradePrevEnv), failed: os.Getenv(upgradeFailedEnv), binary: os.Getenv(upgradeBinaryEnv)}
	os.Unsetenv(upgradePrevEnv) // children must not inherit them
	os.Unsetenv(upgradeFailedEnv)
	os.Unsetenv(upgradeBinaryEnv)
	ready := readyReporter()
	err := serveDaemon(home, ready, c.monitorFlags, c.Resurrect, up)
	if err != nil {
		ready(err)
	}
	return err
}

// upgradeFrom says how this image was started by velos update: prev is the
// copy of the binary before it (set in the new image), failed why the new
// image did not start (set in the previous one it fell back to), binary the
// path updates re-execute (the one the first image was started from: the
// image fallen back to runs from the copy).
type upgradeFrom struct{ prev, failed, binary string }

// readyReporter answers the client that started us (see daemon.Dial).
func readyReporter() func(error) {
	fd, err := strconv.Atoi(os.Getenv(daemon.ReadyFDEnv))
	if err != nil {
		return func(error) {}
	}
	os.Unsetenv(daemon.ReadyFDEnv) // children must not inherit it
	f := os.NewFile(uintptr(fd), "ready")
	var once sync.Once
	return func(err error) {
		once.Do(func() {
			if err != nil {
				fmt.Fprintln(f, err)
			} else {
				fmt.Fprintln(f, "ok")
			}
			f.Close()
		})
	}
}

func serveDaemon(home daemon.Home, ready func(error), mon monitorFlags, resurrect bool, up upgradeFrom) (err error) {
	lock, err := daemon.Acquire(home)
	if err != nil {
		return err
	}
	defer lock.Release()
	var ln net.Listener
	var notifyEnv []string // the service manager's variables, for a fallback
	if up.prev != "" {
		// This image, exec'd by velos update, fails to start: the previous
		// one takes over again (and adopts the processes), inheriting the
		// lock and the socket so that no other daemon can start meanwhile.
		defer func() {
			if err == nil {
				return
			}
			ready(err)
			fmt.Fprintln(os.Stderr, "velosd: the updated daemon failed to start:", err)
			if ln == nil {
				ln, _ = lock.Listen()
			}
			var env []string
			if ln != nil {
				env, _ = lock.Pass(ln)
			}
			err = fallBack(up.prev, up.binary, append(env, notifyEnv...), err)
		}()
	}
	logf, err := os.OpenFile(home.DaemonLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("daemon log: %w", err)
	}
	defer logf.Close()
	log := slog.New(slog.NewTextHandler(logf, nil))
	// Holding the lock, no save can be under way: what a killed daemon was
	// saving is debris.
	if err := state.RemoveTemps(state.Path(home.Dir)); err != nil {
		log.Warn("state", "err", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, shutdown := context.WithCancel(ctx)
	defer shutdown()

	store, err := logs.Open(logs.Options{Dir: home.Logs(), ErrorInterval: mon.LogErrorInterval, OnError: func(err error) {
		var we *logs.WriteError
		if errors.As(err, &we) && we.Resumed {
			log.Info("logs", "resumed", err.Error())
			return
		}
		log.Warn("logs", "err", err)
	}})
	if err != nil {
		return err
	}
	var procs *supervisor.Manager
	cfg := newDaemonConfig(log, func() *supervisor.Manager { return procs })
	notifyEnv = cfg.notify.Environ()
	// Nil (and free) unless OTEL_EXPORTER_OTLP_*ENDPOINT is set.
	tracer, err := trace.New(ctx, trace.Options{Version: version, Log: log, List: func() []supervisor.Info { return procs.List() }})
	if err != nil {
		return err
	}
	defer func() {
		tctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracer.Shutdown(tctx); err != nil {
			log.Warn("otel", "err", err)
		}
	}()
	newBalancer := func(ln net.Listener, strategy string) supervisor.Balancer {
		return balance.New(ln, balance.Strategy(strategy), log)
	}
	specs := state.NewTable()
	rtFile := &runtimeFile{path: runtimePath(home), specs: specs}
	_, rterr := os.Stat(runtimePath(home))
	holder, herr := openKeeper(home, log, rterr == nil)
	var hold supervisor.Holder // no typed nil in the interface
	if herr != nil {
		log.Warn("keeper: processes will not outlive this daemon", "err", herr)
	} else {
		hold = holder
	}
	evlog := events.New(eventBacklog, nil) // velos://events
	defer evlog.Close()
	procs = supervisor.NewManager(supervisor.Options{Logger: log, Sink: logSink{store}, RunDir: home.Run(), Balancer: newBalancer, OnEvent: func(e supervisor.Event) {
		tracer.OnEvent(e)
		cfg.onEvent(e)
		evlog.Add(handlers.Event(e))
	}, Holder: hold, OnRuntime: func(rt supervisor.Runtime) {
		if err := rtFile.write(rt); err != nil {
			log.Warn("runtime", "err", err)
		}
	}})
	if err := adoptPredecessor(home, procs, specs, holder, log); err != nil {
		if up.prev != "" {
			return err // see Run: the previous image takes over
		}
		log.Warn("adopt", "err", err)
	}
	specs.OnChange(procs.SaveRuntime)
	if holder != nil {
		holder.setOnLost(procs.Rehold)
	}
	upg := newUpgrader(home, procs, log, up.binary)
	upg.env = notifyEnv
	sampler := metrics.NewSampler(metrics.Options{
		Interval: mon.SampleInterval,
		OnError:  func(err error) { log.Warn("sample", "err", err) },
		OnSample: func(samples []metrics.Sample) { restartOverMemory(ctx, procs, samples, log) },
	})
	deps := &handlers.Deps{Home: home.Dir, Procs: procs, Logs: store, Metrics: sampler, Specs: specs,
		Log: log, Shutdown: shutdown, Version: version, Cron: cfg.cron, Events: evlog}
	if canReexec {
		deps.Update = upg.Update
	}
	if cfg.watch, err = newWatcher(ctx, home.Dir, func() *supervisor.Manager { return procs }, log); err != nil {
		return err
	}
	go cfg.run(ctx, procs)
	cfg.onEvent(supervisor.Event{Kind: supervisor.EventStarted}) // cron and watch for adopted processes
	if tracer != nil {
		deps.Trace = tracer.ToolCall
	}
	deps.Endpoint = metrics.NewEndpoint(ctx, handlers.MetricsSource(deps))
	if mon.MetricsAddr != "" {
		var opts []metrics.ServeOption
		if mon.MetricsAllowRemote {
			opts = append(opts, metrics.AllowRemote())
		}
		addr, _, err := deps.Endpoint.Serve(mon.MetricsAddr, opts...)
		if err != nil {
			return fmt.Errorf("--metrics-addr/VELOS_METRICS_ADDR: %w", err)
		}
		log.Info("metrics", "url", "http://"+addr+"/metrics")
	}
	if addr, remote := takeServed(upgradeMetricsEnv); addr != "" {
		var opts []metrics.ServeOption
		if remote {
			opts = append(opts, metrics.AllowRemote())
		}
		// Served before the update: a failure here (the port taken in the
		// instant between) must not undo the update; it is logged.
		if _, _, err := deps.Endpoint.Serve(addr, opts...); err != nil {
			log.Error("update: /metrics not served again", "addr", addr, "err", err)
		}
	}
	go func() { _ = sampler.Run(ctx, func() []metrics.Target { return handlers.MetricTargets(procs.List()) }) }()
	httpSrv := &mcpHTTP{ctx: ctx, home: home, log: log}
	deps.MCPHTTP = httpSrv
	srvs, err := newServers(home.Dir, handlers.All, deps, serverExtras)
	if err != nil {
		return err
	}
	httpSrv.srvs = srvs
	if addr, remote := takeServed(upgradeMCPHTTPEnv); addr != "" {
		if _, _, err := httpSrv.Serve(addr, remote); err != nil {
			log.Error("update: MCP over HTTP not served again", "addr", addr, "err", err)
		}
	}
	ln, err = lock.Listen()
	if err != nil {
		return err
	}
	cfg.resurrect(deps, resurrect)
	log.Info("daemon started", "pid", os.Getpid(), "home", home.Dir, "version", version)
	ready(nil)
	cfg.ready(ctx)
	// Starting (registering the tools' schemas above all) left garbage the
	// idle daemon will not reuse: give those pages back now.
	debug.FreeOSMemory()
	go exitWhenSocketGoes(ctx, home.Socket(), shutdown, log)
	if up.prev != "" || up.failed != "" {
		reportUpdate(home, up.failed)
		log.Info("updated in place", "version", version, "fell_back", up.failed != "", "error", up.failed)
	}
	if canReexec {
		go onHangup(ctx, upg)
	}

	for {
		// Serve until the daemon stops, or until an update asks for the
		// binary on disk to take over in this same process.
		sctx, stopServing := context.WithCancel(ctx)
		var passEnv []string
		var passErr error
		passed := make(chan struct{})
		go func() {
			defer close(passed)
			select {
			case <-upg.requested:
				passEnv, passErr = lock.Pass(ln) // before serve closes it
				passEnv = append(passEnv, servedEnv(upgradeMetricsEnv, deps.Endpoint.Addr())...)
				passEnv = append(passEnv, servedEnv(upgradeMCPHTTPEnv, httpSrv.served())...)
				stopServing()
			case <-sctx.Done():
			}
		}()
		serve(sctx, ln, srvs.connServer, log)
		stopServing()
		<-passed
		if ctx.Err() != nil || passEnv == nil && passErr == nil {
			break
		}
		err := passErr
		if err == nil {
			log.Info("update: re-executing", "binary", upg.exe, "processes", len(procs.List()))
			if err = rtFile.write(procs.Detach()); err == nil {
				err = upg.reexec(passEnv) // returns only when the exec failed
			}
			procs.Resume()
		}
		log.Error("update failed; this daemon serves on", "err", err)
		if ln, err = lock.Unpass(); err != nil {
			if ln, err = lock.Listen(); err != nil {
				log.Error("listen again after a failed update", "err", err)
				break
			}
		}
	}

	log.Info("daemon stopping")
	cfg.stopping()
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := procs.Shutdown(sctx); err != nil {
		log.Error("stop processes", "err", err)
	}
	rtFile.remove() // nothing runs: nothing for a successor to adopt
	if holder != nil {
		holder.quit()
	}
	if err := store.Close(); err != nil {
		log.Error("flush logs", "err", err)
	}
	os.Remove(home.Socket())
	log.Info("daemon stopped")
	return nil
}

// adoptPredecessor takes over the processes the daemon before this one left
// running (killed, or re-executed by velos update), from its runtime file
// and the keeper; see supervisor.Manager.Adopt.
func adoptPredecessor(home daemon.Home, procs *supervisor.Manager, specs *state.Table, holder *keeperHolder, log *slog.Logger) (err error) {
	rs, ok, err := loadRuntime(home)
	if err != nil {
		// Do not touch what the keeper holds: a daemon that can read the
		// runtime (the one an update falls back to) still needs it.
		return err
	}
	known := map[string]bool{}
	if ok {
		for _, e := range rs.Specs {
			specs.Put(e)
		}
		for _, p := range rs.Procs.Processes {
			if p.Share != nil {
				known[supervisor.ShareKeys(p.Name)] = true
			}
			for _, r := range []*supervisor.RunState{p.Run, p.Pending} {
				if r != nil {
					known[r.Keys()] = true
				}
			}
		}
		infos, aerr := procs.Adopt(rs.Procs)
		if aerr != nil {
			err = errors.Join(err, aerr)
		} else {
			running := 0
			for _, in := range infos {
				if in.PID > 0 {
					running++
				}
			}
			log.Info("adopted", "processes", len(infos), "running", running, "from", rs.PID)
		}
	}
	if holder != nil {
		holder.forget(known)
	}
	return err
}

// exitWhenSocketGoes stops the daemon once its socket file is gone (its
// VELOS_HOME deleted, say): nobody can reach it any more, and a new daemon
// could start beside it. Checking a path every 2 s costs nothing.
func exitWhenSocketGoes(ctx context.Context, path string, shutdown func(), log *slog.Logger) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				log.Warn("socket removed; stopping", "socket", path)
				shutdown()
				return
			}
		}
	}
}

// readCloser reads the rest of a connection after its first line was
// peeked at, and closes the connection.
type readCloser struct {
	io.Reader
	io.Closer
}

// logSink stores children's output in the log store.
type logSink struct{ s *logs.Store }

func (l logSink) Attach(name string, stderr bool, r io.Reader, o supervisor.LogOptions) <-chan struct{} {
	st := logs.Out
	if stderr {
		st = logs.Err
	}
	var ro *logs.RotateOptions
	if o != (supervisor.LogOptions{}) {
		ro = &logs.RotateOptions{MaxSize: o.MaxSize, Keep: o.Keep, Gzip: o.Gzip}
	}
	return l.s.Attach(name, st, r, ro)
}

// restartOverMemory restarts, gracefully, each process whose tree stayed
// above its max_memory for the guard's run of samples.
func restartOverMemory(ctx context.Context, procs *supervisor.Manager, samples []metrics.Sample, log *slog.Logger) {
	for _, smp := range samples {
		if !smp.Memory.Restart {
			continue
		}
		cause := supervisor.Cause(fmt.Sprintf("%s %s > %s", supervisor.CauseMemory, render.Bytes(int64(smp.Memory.RSS)), render.Bytes(int64(smp.Memory.Limit))))
		go func() {
			if _, err := procs.Restart(ctx, smp.Key, cause); err != nil {
				log.Warn("max_memory restart", "id", smp.Key, "err", err)
			}
		}()
	}
}

// serverExtras are the options and the registrations every MCP server of
// the daemon has besides its tools: resources and prompts, with d.
func serverExtras(d *handlers.Deps) (*mcp.ServerOptions, func(*mcp.Server)) {
	opts := &mcp.ServerOptions{
		Instructions: "Velos manages long-running processes. Start with process_list; every tool's text output is compact JSON.",
	}
	hub := resources.New(d) // velos://processes, velos://logs/{name} and their subscriptions
	hub.Options(opts)
	prompts.Options(opts, d) // completion of process names
	return opts, func(srv *mcp.Server) {
		hub.Register(srv)
		prompts.Register(srv, d)
	}
}

// serve runs one MCP session per connection until ctx ends, then closes
// what is still open once answers in flight have had a moment to leave.
// pick reads what the connection says it is and gives its server.
func serve(ctx context.Context, ln net.Listener, pick func(io.ReadWriter) (*mcp.Server, io.Reader, error), log *slog.Logger) {
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	var wg sync.WaitGroup
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			// A failed accept (a client gone before it was accepted, out of
			// file descriptors) must not end the daemon: note it, breathe, go on.
			log.Warn("accept", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		mu.Lock()
		conns[c] = true
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				c.Close()
			}()
			srv, r, err := pick(c)
			if err != nil {
				if !errors.Is(err, io.EOF) { // a probe that closed at once (daemon.Dial's)
					log.Warn("mcp connection refused", "err", err)
				}
				return
			}
			ss, err := srv.Connect(ctx, &mcp.IOTransport{Reader: readCloser{r, c}, Writer: c}, nil)
			if err != nil {
				log.Warn("mcp connect", "err", err)
				return
			}
			_ = ss.Wait()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		<-done
	}
}
