package supervisor

import (
	"testing"
	"time"
)

func TestDecideBackoffGrowsAndResets(t *testing.T) {
	spec := Spec{Name: "a", Command: []string{"x"}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	var h History
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 4000, 4000}
	for i, w := range want {
		d, nh := Decide(spec, Exit{Code: 1, Uptime: 10 * time.Millisecond}, now, h)
		if !d.Restart || d.Delay != w*time.Millisecond {
			t.Fatalf("quick crash %d: got %+v, want restart after %v", i+1, d, w*time.Millisecond)
		}
		h = nh
		now = now.Add(d.Delay + 10*time.Millisecond)
	}
	// A stable run resets the backoff: the next crash restarts at once.
	d, h := Decide(spec, Exit{Code: 1, Uptime: time.Minute}, now.Add(time.Minute), h)
	if !d.Restart || d.Delay != 0 || h.Quick != 0 {
		t.Fatalf("crash after stable run: got %+v quick=%d, want immediate restart", d, h.Quick)
	}
}

func TestDecideCrashLoopEndsErrored(t *testing.T) {
	spec := Spec{Name: "a", Command: []string{"x"}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var h History
	var d Decision
	var total time.Duration
	for i := 0; i < 50; i++ {
		d, h = Decide(spec, Exit{Code: 3, Uptime: 0}, now, h)
		if !d.Restart {
			break
		}
		now = now.Add(d.Delay)
		total += d.Delay
	}
	if d.Restart || d.Status != Errored {
		t.Fatalf("got %+v, want errored after the crash-loop limit", d)
	}
	if len(h.Restarts) != DefaultMaxRestarts {
		t.Fatalf("restarts before errored = %d, want %d", len(h.Restarts), DefaultMaxRestarts)
	}
	if total >= 30*time.Second {
		t.Fatalf("errored only after %v of backoff; the defaults promise under 30s", total)
	}
	if want := "crash loop: 10 restarts in 1m, last exit 3"; d.Reason != want {
		t.Fatalf("reason %q, want %q", d.Reason, want)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Minute: "1m", 90 * time.Second: "1m30s",
		30 * time.Second: "30s", time.Hour: "1h", 90 * time.Minute: "1h30m", 500 * time.Millisecond: "500ms"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestDecideWindowForgetsOldRestarts(t *testing.T) {
	spec := Spec{Name: "a", Command: []string{"x"}, MaxRestarts: 2, RestartWindow: time.Minute}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var h History
	for i := 0; i < 10; i++ { // one stable crash every 2 minutes never trips a 2-per-minute limit
		var d Decision
		d, h = Decide(spec, Exit{Signal: "SIGKILL", Code: -1, Uptime: 2 * time.Minute}, now, h)
		if !d.Restart || d.Delay != 0 {
			t.Fatalf("crash %d: %+v", i, d)
		}
		now = now.Add(2 * time.Minute)
	}
}

func TestDecidePolicies(t *testing.T) {
	now := time.Now()
	tests := []struct {
		policy  Policy
		exit    Exit
		restart bool
		status  Status
	}{
		{Always, Exit{Code: 0}, true, ""},
		{Always, Exit{Code: 2}, true, ""},
		{OnFailure, Exit{Code: 0}, false, Stopped},
		{OnFailure, Exit{Code: 2}, true, ""},
		{OnFailure, Exit{Code: -1, Signal: "SIGSEGV"}, true, ""},
		{Never, Exit{Code: 0}, false, Stopped},
		{Never, Exit{Code: 2}, false, Errored},
	}
	for _, tt := range tests {
		d, _ := Decide(Spec{Name: "a", Command: []string{"x"}, Autorestart: tt.policy}, tt.exit, now, History{})
		if d.Restart != tt.restart || (!d.Restart && d.Status != tt.status) {
			t.Errorf("%s after %s: got %+v", tt.policy, tt.exit, d)
		}
	}
}
