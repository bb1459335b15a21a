package supervisor

import (
	"syscall"

	"github.com/velos-pm/velos/core/spec"
)

// The types of core/spec under the names the supervisor has always used.
type (
	Spec       = spec.Spec
	Policy     = spec.Policy
	Backoff    = spec.Backoff
	LogOptions = spec.LogOptions
	Exit       = spec.Exit
)

// The restart policies (see [spec.Policy]).
const (
	Always    = spec.Always
	OnFailure = spec.OnFailure
	Never     = spec.Never
)

// The documented defaults (see core/spec).
const (
	DefaultKillTimeout   = spec.DefaultKillTimeout
	DefaultKillSignal    = spec.DefaultKillSignal
	DefaultBackoffMin    = spec.DefaultBackoffMin
	DefaultBackoffMax    = spec.DefaultBackoffMax
	DefaultBackoffFactor = spec.DefaultBackoffFactor
	DefaultMinUptime     = spec.DefaultMinUptime
	DefaultMaxRestarts   = spec.DefaultMaxRestarts
	DefaultRestartWindow = spec.DefaultRestartWindow
)

// ParseSignal is [spec.ParseSignal].
func ParseSignal(name string) (syscall.Signal, error) { return spec.ParseSignal(name) }
