// Package events keeps the daemon's recent events — a process started,
// got ready, exited (with its code or signal), was restarted (with the
// cause), errored, stopped or was deleted, a config change — in a bounded
// backlog, and tells subscribers when one is added. MCP serves it as the
// resource velos://events (see package resources); `velos events -f`
// follows that resource. (The supervisor's events are turned into these
// in handlers: the CLI, which prints them, links no supervisor.)
package events

import (
	"fmt"
	"sync"
	"time"
)

// The kinds of [Event].
const (
	Start   = "start"   // first start of a process
	Restart = "restart" // started again, with its cause
	Ready   = "ready"
	Exit    = "exit"    // the run ended (code or signal); restart_in when it will be restarted
	Errored = "errored" // the run ended and the process stays down, failed (reason)
	Stopped = "stopped" // stopped on request
	Deleted = "deleted"
	Config  = "config" // its configuration changed (detail says how)
)

// Event is one thing that happened, as the resource shows it (one JSON
// object per line).
type Event struct {
	Seq  int64     `json:"seq"` // increases by one per event, from 1
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	Name string    `json:"name"`
	// ID is the process's numeric id; -1 for an event about a name (config).
	ID     int    `json:"id"`
	PID    int    `json:"pid,omitempty"`
	Code   *int   `json:"code,omitempty"` // exit status of a run that ended without a signal
	Signal string `json:"signal,omitempty"`
	// Cause of a restart: "exit 1", "SIGKILL", "manual", "cron", "max_memory …".
	Cause string `json:"cause,omitempty"`
	// RestartIn: a run that ended will be started again after this delay.
	RestartIn string `json:"restart_in,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

// String is the event on one line, for people.
func (e Event) String() string {
	s := fmt.Sprintf("%s %s", e.Time.Local().Format("15:04:05.000"), e.Name)
	if e.ID >= 0 {
		s += fmt.Sprintf(" #%d", e.ID)
	}
	s += " " + e.Kind
	if e.PID != 0 {
		s += fmt.Sprintf(" pid %d", e.PID)
	}
	if e.Code != nil {
		s += fmt.Sprintf(" code %d", *e.Code)
	}
	if e.Signal != "" {
		s += " " + e.Signal
	}
	for _, kv := range [][2]string{{"cause", e.Cause}, {"restart in", e.RestartIn}, {"reason", e.Reason}, {"", e.Detail}} {
		if kv[1] != "" && kv[0] != "" {
			s += ", " + kv[0] + " " + kv[1]
		} else if kv[1] != "" {
			s += ": " + kv[1]
		}
	}
	return s
}

// Log is the bounded backlog and its subscribers. Its methods never block
// on a subscriber, so [Log.Add] may be called from the supervisor's event
// hook.
type Log struct {
	now func() time.Time

	mu     sync.Mutex
	ring   []Event // the last cap(ring) events, oldest first once full
	next   int     // where the next event goes in ring
	full   bool
	seq    int64
	subs   map[chan struct{}]bool
	closed bool
}

// New makes a log that keeps the last size events; now is the clock
// (time.Now when nil).
func New(size int, now func() time.Time) *Log {
	size = max(size, 1)
	if now == nil {
		now = time.Now
	}
	return &Log{now: now, ring: make([]Event, size), subs: map[chan struct{}]bool{}}
}

// Add numbers and stamps e, keeps it, and signals every subscriber.
func (l *Log) Add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.seq++
	e.Seq, e.Time = l.seq, l.now().UTC()
	l.ring[l.next] = e
	l.next = (l.next + 1) % len(l.ring)
	l.full = l.full || l.next == 0
	for ch := range l.subs {
		select {
		case ch <- struct{}{}:
		default: // one is pending: it covers this one
		}
	}
}

// Since returns the kept events with a seq above seq, oldest first.
func (l *Log) Since(seq int64) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	add := func(es []Event) {
		for _, e := range es {
			if e.Seq > seq {
				out = append(out, e)
			}
		}
	}
	if l.full {
		add(l.ring[l.next:])
	}
	add(l.ring[:l.next])
	return out
}

// Subscribe returns a channel signalled after events are added (signals
// merge while one is pending), closed by cancel or [Log.Close].
func (l *Log) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		close(ch)
		return ch, func() {}
	}
	l.subs[ch] = true
	return ch, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.subs[ch] {
			delete(l.subs, ch)
			close(ch)
		}
	}
}

// Close ends every subscription; later events are dropped.
func (l *Log) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for ch := range l.subs {
		delete(l.subs, ch)
		close(ch)
	}
}
