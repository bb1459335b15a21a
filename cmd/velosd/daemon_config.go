package main

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/core/schedule"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/handlers"
)

// daemonConfig is the daemon's part of configuration: cron restarts,
// resurrect on start, and the service manager's notifications.
type daemonConfig struct {
	log    *slog.Logger
	notify *daemon.Notifier
	cron   *schedule.Scheduler
	watch  *watcher // nil until the daemon sets it
	// resync is signalled (never blocking) when processes start or go, so
	// the scheduler's jobs follow their specs; run does the work outside
	// the supervisor's event callback, which must not call back into it.
	resync chan struct{}
}

// newDaemonConfig reads the service manager's variables (and removes them
// from the environment children inherit), so it must run before any child
// is started. procs is read when a cron job fires.
func newDaemonConfig(log *slog.Logger, procs func() *supervisor.Manager) *daemonConfig {
	c := &daemonConfig{log: log, notify: daemon.NotifierFromEnv(), resync: make(chan struct{}, 1)}
	c.cron = schedule.New(schedule.Options{Logger: log, Restart: func(ctx context.Context, name string) error {
		return cronRestart(ctx, procs(), name)
	}})
	return c
}

// onEvent is the supervisor's event hook.
func (c *daemonConfig) onEvent(e supervisor.Event) {
	if e.Kind == supervisor.EventStarted || e.Kind == supervisor.EventDeleted {
		select {
		case c.resync <- struct{}{}:
		default:
		}
	}
}

// run keeps the cron jobs in step with the processes until ctx ends.
func (c *daemonConfig) run(ctx context.Context, procs *supervisor.Manager) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.resync:
			list := procs.List()
			c.cron.Sync(list)
			if c.watch != nil {
				c.watch.sync(list)
			}
		}
	}
}

// cronRestart restarts name's instances one at a time with cause cron,
// except those stopped on purpose: a schedule does not undo a velos stop.
func cronRestart(ctx context.Context, procs *supervisor.Manager, name string) error {
	var errs []error
	for _, in := range procs.List() {
		if in.Name != name || in.Status == supervisor.Stopped || in.Status == supervisor.Stopping {
			continue
		}
		if _, err := procs.Restart(ctx, strconv.Itoa(in.ID), supervisor.CauseCron); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// resurrect starts the saved processes when asked to. A missing, corrupt or
// unreadable dump is logged, never fatal: the daemon must come up anyway,
// and `velos resurrect` reports the same error to whoever asks.
func (c *daemonConfig) resurrect(d *handlers.Deps, want bool) {
	if !want {
		return
	}
	out, err := handlers.ResurrectDump(d)
	switch {
	case errors.Is(err, handlers.ErrNothingSaved):
		c.log.Info("resurrect: nothing saved", "dump", out.Path)
	case err != nil:
		c.log.Error("resurrect", "err", err)
	default:
		c.log.Info("resurrected", "started", len(out.Started), "skipped", out.Skipped)
	}
}

// ready tells a service manager that the daemon serves, and keeps its
// watchdog fed until ctx ends.
func (c *daemonConfig) ready(ctx context.Context) {
	if !c.notify.Enabled() {
		return
	}
	if err := c.notify.Notify("READY=1\nSTATUS=serving"); err != nil {
		c.log.Warn("sd_notify", "err", err)
	}
	go c.notify.Watchdog(ctx.Done(), func(err error) { c.log.Warn("sd_notify watchdog", "err", err) })
}

// stopping tells the service manager the daemon is stopping and ends the
// cron jobs before the processes are stopped.
func (c *daemonConfig) stopping() {
	if err := c.notify.Notify("STOPPING=1"); err != nil {
		c.log.Warn("sd_notify", "err", err)
	}
	if err := c.cron.Close(); err != nil {
		c.log.Warn("cron", "err", err)
	}
	if c.watch != nil {
		if err := c.watch.close(); err != nil {
			c.log.Warn("watch", "err", err)
		}
	}
}
