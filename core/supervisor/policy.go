package supervisor

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// History is what the restart decision remembers between runs.
type History struct {
	// Restarts are the times of automatic restarts inside the current window, oldest first.
	Restarts []time.Time
	// Quick counts consecutive runs shorter than Backoff.MinUptime.
	Quick int
}

// Decision is what to do after a run ended.
type Decision struct {
	Restart bool
	Delay   time.Duration
	// Status is the resting status when Restart is false: Stopped or Errored.
	Status Status
	Reason string
}

// Decide is the restart policy as a pure function of the spec, the exit, the
// clock and the history, so it can be tested without processes or sleeps. A
// crash after a stable run restarts at once; consecutive quick crashes back off
// exponentially; MaxRestarts automatic restarts inside RestartWindow end in
// Errored rather than a busy loop.
func Decide(s Spec, e Exit, now time.Time, h History) (Decision, History) {
	s = s.WithDefaults()
	restart := s.Autorestart == Always || (s.Autorestart == OnFailure && e.Failed())
	if !restart {
		if e.Failed() {
			return Decision{Status: Errored, Reason: e.String()}, h
		}
		return Decision{Status: Stopped, Reason: e.String()}, h
	}

	kept := h.Restarts[:0:0]
	for _, t := range h.Restarts {
		if now.Sub(t) < s.RestartWindow {
			kept = append(kept, t)
		}
	}
	h.Restarts = kept
	if len(h.Restarts) >= s.MaxRestarts {
		return Decision{Status: Errored, Reason: fmt.Sprintf("crash loop: %d restarts in %s, last %s", len(h.Restarts), shortDuration(s.RestartWindow), e)}, h
	}

	var delay time.Duration
	// A run that never got going — a quick crash, or one that never became
	// ready — backs off. So many of them in a row
	// is a crash loop too, even when each is too slow to fill the window
	// (a readiness timeout is 30 s).
	if e.Uptime < s.Backoff.MinUptime || e.NeverReady {
		if h.Quick >= s.MaxRestarts {
			return Decision{Status: Errored, Reason: fmt.Sprintf("crash loop: %d failed runs in a row, last %s", h.Quick+1, e)}, h
		}
		h.Quick++
		d := float64(s.Backoff.Min) * math.Pow(s.Backoff.Factor, float64(h.Quick-1))
		delay = time.Duration(math.Min(d, float64(s.Backoff.Max)))
	} else {
		h.Quick = 0
	}
	h.Restarts = append(h.Restarts, now.Add(delay))
	return Decision{Restart: true, Delay: delay, Reason: e.String()}, h
}

// shortDuration is d as people write it: 1m, not Go's 1m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
