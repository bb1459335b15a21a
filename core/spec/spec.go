// Package spec holds what a supervised process is asked to be and how one
// run of it ended: the resolved [Spec] (what core/config makes of a file or
// flags, what core/supervisor runs) with its documented defaults, and
// [Exit]. It is a leaf — the standard library only — so the CLI, which
// checks config files itself, links it without the supervisor.
package spec

import (
	"fmt"
	"syscall"
	"time"
)

// Policy says when an exited process is started again.
type Policy string

// The restart policies. The zero value means [Always].
const (
	Always    Policy = "always"
	OnFailure Policy = "on-failure"
	Never     Policy = "never"
)

// Spec is everything the supervisor needs to run one process. It is the
// resolved form: paths are absolute, durations parsed, the interpreter chosen.
// core/config turns a file or flags into a Spec.
type Spec struct {
	Name string `json:"name"`
	// Command is the argv to exec: Command[0] is resolved on PATH when it has no slash.
	Command []string          `json:"command"`
	Cwd     string            `json:"cwd,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	// Instances > 1 runs that many copies, named Name-0 … Name-(N-1) in logs.
	Instances int `json:"instances,omitempty"`

	Autorestart Policy        `json:"autorestart,omitempty"`
	KillTimeout time.Duration `json:"kill_timeout,omitempty"`
	KillSignal  string        `json:"kill_signal,omitempty"`
	Backoff     Backoff       `json:"backoff"`
	// MaxRestarts automatic restarts inside RestartWindow mean a crash loop: the
	// process ends errored instead of being started again.
	MaxRestarts   int           `json:"max_restarts,omitempty"`
	RestartWindow time.Duration `json:"restart_window,omitempty"`

	// The keys below are parsed and validated by core/config and take effect as
	// the features that use them land (metrics, cron, readiness, cluster, watch).

	// MaxMemory in bytes: above it (summed over the process tree) the process is restarted.
	MaxMemory   int64  `json:"max_memory,omitempty"`
	CronRestart string `json:"cron_restart,omitempty"`
	// Mode is "fork" (default) or "cluster".
	Mode string `json:"mode,omitempty"`
	// Listen is the address clients connect to ("" = none): Velos binds it
	// and shares it with the instances, as Balance says.
	Listen        string        `json:"listen,omitempty"`
	Balance       string        `json:"balance,omitempty"`
	WaitReady     bool          `json:"wait_ready,omitempty"`
	ReadyTCP      string        `json:"ready_tcp,omitempty"`
	ReadyHTTP     string        `json:"ready_http,omitempty"`
	ListenTimeout time.Duration `json:"listen_timeout,omitempty"`
	Watchdog      time.Duration `json:"watchdog,omitempty"`
	Watch         []string      `json:"watch,omitempty"`
	WatchIgnore   []string      `json:"watch_ignore,omitempty"`
	WatchDebounce time.Duration `json:"watch_debounce,omitempty"`
	Log           LogOptions    `json:"log"`
	User          string        `json:"user,omitempty"`
	Group         string        `json:"group,omitempty"`
}

// LogOptions overrides the daemon's log rotation defaults for one process.
type LogOptions struct {
	MaxSize int64 `json:"max_size,omitempty"` // bytes per file before rotating
	Keep    int   `json:"keep,omitempty"`     // rotated files kept
	Gzip    bool  `json:"gzip,omitempty"`     // compress rotated files
}

// Backoff is the delay between consecutive quick crashes: Min, then ×Factor
// each time, at most Max. A run that lasted MinUptime counts as stable: the
// next crash restarts at once and the sequence starts over.
type Backoff struct {
	Min       time.Duration `json:"min,omitempty"`
	Max       time.Duration `json:"max,omitempty"`
	Factor    float64       `json:"factor,omitempty"`
	MinUptime time.Duration `json:"min_uptime,omitempty"`
}

// The documented defaults. With them a program that exits at once is
// restarted after 0.1, 0.2, 0.4 … 3.2 s, capped at 4 s, and is errored after
// its 10th restart, about 20 s after it was first started.
const (
	DefaultKillTimeout   = 5 * time.Second
	DefaultKillSignal    = "SIGTERM"
	DefaultBackoffMin    = 100 * time.Millisecond
	DefaultBackoffMax    = 4 * time.Second
	DefaultBackoffFactor = 2.0
	DefaultMinUptime     = 5 * time.Second
	DefaultMaxRestarts   = 10
	DefaultRestartWindow = 60 * time.Second
)

// WithDefaults returns s with every unset field given its documented default.
func (s Spec) WithDefaults() Spec {
	if s.Autorestart == "" {
		s.Autorestart = Always
	}
	if s.KillTimeout == 0 {
		s.KillTimeout = DefaultKillTimeout
	}
	if s.KillSignal == "" {
		s.KillSignal = DefaultKillSignal
	}
	if s.Backoff.Min == 0 {
		s.Backoff.Min = DefaultBackoffMin
	}
	if s.Backoff.Max == 0 {
		s.Backoff.Max = DefaultBackoffMax
	}
	if s.Backoff.Factor == 0 {
		s.Backoff.Factor = DefaultBackoffFactor
	}
	if s.Backoff.MinUptime == 0 {
		s.Backoff.MinUptime = DefaultMinUptime
	}
	if s.MaxRestarts == 0 {
		s.MaxRestarts = DefaultMaxRestarts
	}
	if s.RestartWindow == 0 {
		s.RestartWindow = DefaultRestartWindow
	}
	if s.Instances == 0 {
		s.Instances = 1
	}
	return s
}

// Validate reports the first thing in s that cannot run.
func (s Spec) Validate() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("name: empty")
	case len(s.Command) == 0 || s.Command[0] == "":
		return fmt.Errorf("%s: no command to run", s.Name)
	}
	switch s.Autorestart {
	case "", Always, OnFailure, Never:
	default:
		return fmt.Errorf("%s: autorestart: %q is not one of always, on-failure, never", s.Name, s.Autorestart)
	}
	if _, err := ParseSignal(s.KillSignal); s.KillSignal != "" && err != nil {
		return fmt.Errorf("%s: kill_signal: %w", s.Name, err)
	}
	if s.Backoff.Factor != 0 && s.Backoff.Factor < 1 {
		return fmt.Errorf("%s: backoff factor %g is below 1", s.Name, s.Backoff.Factor)
	}
	if s.Instances < 0 {
		return fmt.Errorf("%s: instances %d is negative", s.Name, s.Instances)
	}
	return nil
}

var signals = map[string]syscall.Signal{
	"SIGTERM": syscall.SIGTERM, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT,
	"SIGHUP": syscall.SIGHUP, "SIGKILL": syscall.SIGKILL,
}

// SignalName is the name of a signal that [ParseSignal] knows, or "".
func SignalName(s syscall.Signal) string {
	for name, v := range signals {
		if v == s {
			return name
		}
	}
	return ""
}

// ParseSignal turns "SIGTERM" or "TERM" into the signal.
func ParseSignal(name string) (syscall.Signal, error) {
	if s, ok := signals[name]; ok {
		return s, nil
	}
	if s, ok := signals["SIG"+name]; ok {
		return s, nil
	}
	return 0, fmt.Errorf("unknown signal %q (want SIGTERM, SIGINT, SIGQUIT, SIGHUP or SIGKILL)", name)
}
