// Package schedule runs cron restarts: one job per process name that has a
// cron_restart expression, kept in step with the supervisor's processes by
// [Scheduler.Sync]. The gocron scheduler behind it is created on the first
// job only, so a daemon whose processes have no cron schedule runs no
// scheduler goroutines at all.
package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/velos-pm/velos/core/supervisor"
)

// RestartFunc restarts the processes called name; a [Scheduler] calls it
// when a job fires, with a context cancelled when the scheduler closes.
type RestartFunc func(ctx context.Context, name string) error

// Options configure a [Scheduler].
type Options struct {
	// Restart is what a job does. Required.
	Restart RestartFunc
	Logger  *slog.Logger
	// Location is the time zone cron expressions are read in; time.Local when nil.
	Location *time.Location
}

// Scheduler holds the cron restart jobs of one daemon. Safe for concurrent use.
type Scheduler struct {
	opt    Options
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	s      gocron.Scheduler // nil until the first job
	jobs   map[string]job   // by process name
	closed bool
}

type job struct {
	expr string
	j    gocron.Job
}

// New returns a Scheduler with no jobs and no goroutines.
func New(o Options) *Scheduler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{opt: o, ctx: ctx, cancel: cancel, jobs: map[string]job{}}
}

// Set makes name restart on expr (5 fields, 6 with seconds first, or a
// descriptor such as @hourly); an empty expr removes its job. Setting the
// expression a job already has keeps the job and its next run time.
func (s *Scheduler) Set(name, expr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setLocked(name, expr)
}

func (s *Scheduler) setLocked(name, expr string) error {
	if s.closed {
		return fmt.Errorf("cron %s: scheduler closed", name)
	}
	old, had := s.jobs[name]
	if had && old.expr == expr {
		return nil
	}
	if expr == "" {
		if had {
			delete(s.jobs, name)
			if err := s.s.RemoveJob(old.j.ID()); err != nil {
				return fmt.Errorf("cron %s: remove job: %w", name, err)
			}
		}
		return nil
	}
	if s.s == nil {
		gs, err := gocron.NewScheduler(gocron.WithLocation(s.opt.Location))
		if err != nil {
			return fmt.Errorf("cron: new scheduler: %w", err)
		}
		gs.Start()
		s.s = gs
	}
	def := gocron.CronJob(expr, true)
	task := gocron.NewTask(func() {
		if err := s.opt.Restart(s.ctx, name); err != nil {
			s.opt.Logger.Warn("cron restart", "name", name, "err", err)
		}
	})
	// A slow restart must not overlap the next tick: skip to the one after.
	opts := []gocron.JobOption{gocron.WithName("cron_restart:" + name),
		gocron.WithSingletonMode(gocron.LimitModeReschedule)}
	// A new job first, then the old one goes: a bad expression leaves the
	// old schedule in place (gocron's Update drops the job when it fails).
	j, err := s.s.NewJob(def, task, opts...)
	if err != nil {
		return fmt.Errorf("cron %s: %q: %w", name, expr, err)
	}
	s.jobs[name] = job{expr: expr, j: j}
	if had {
		if err := s.s.RemoveJob(old.j.ID()); err != nil {
			return fmt.Errorf("cron %s: remove the previous job: %w", name, err)
		}
	}
	return nil
}

// Sync makes the jobs match ps: one per name whose spec has a cron_restart,
// none for names that are gone or have none. Errors (an expression the
// config checks let through) are logged and the name left without a job.
func (s *Scheduler) Sync(ps []supervisor.Info) {
	want := map[string]string{}
	for _, p := range ps {
		want[p.Name] = p.Spec.CronRestart
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for name := range s.jobs {
		if _, ok := want[name]; !ok {
			want[name] = ""
		}
	}
	for name, expr := range want {
		if err := s.setLocked(name, expr); err != nil {
			s.opt.Logger.Warn("cron schedule", "name", name, "err", err)
		}
	}
}

// Next returns when name's job runs next; false when it has none.
func (s *Scheduler) Next(name string) (time.Time, bool) {
	s.mu.Lock()
	jb, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return time.Time{}, false
	}
	t, err := jb.j.NextRun()
	if err != nil || t.IsZero() {
		return time.Time{}, false
	}
	return t, true
}

// Names returns the names that have a job.
func (s *Scheduler) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.jobs))
	for n := range s.jobs {
		out = append(out, n)
	}
	return out
}

// Running reports whether a gocron scheduler has been started (it is only
// once some process has a cron schedule).
func (s *Scheduler) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.s != nil
}

// Close cancels restarts in progress and stops the scheduler; later calls
// to Set fail and Sync does nothing.
func (s *Scheduler) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.cancel()
	s.jobs = map[string]job{}
	if s.s == nil {
		return nil
	}
	if err := s.s.Shutdown(); err != nil {
		return fmt.Errorf("cron: shutdown: %w", err)
	}
	return nil
}
