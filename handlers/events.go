package handlers

import (
	"github.com/velos-pm/velos/core/events"
	"github.com/velos-pm/velos/core/supervisor"
)

// Event is the event (velos://events) a supervisor lifecycle event is.
func Event(se supervisor.Event) events.Event {
	e := events.Event{Name: se.Name, ID: se.ID, PID: se.PID, Reason: se.Reason}
	switch se.Kind {
	case supervisor.EventStarted:
		e.Kind, e.Cause = events.Start, se.Cause
		if se.Cause != "" {
			e.Kind = events.Restart
		}
	case supervisor.EventReady:
		e.Kind = events.Ready
	case supervisor.EventCrashed:
		e.Kind, e.RestartIn = events.Exit, se.Delay.String()
	case supervisor.EventExited:
		e.Kind = events.Exit
		if se.Reason != "" || se.Exit != nil && se.Exit.Failed() {
			e.Kind = events.Errored
		}
	case supervisor.EventStopped:
		e.Kind = events.Stopped
	case supervisor.EventDeleted:
		e.Kind = events.Deleted
	default:
		e.Kind = string(se.Kind)
	}
	if x := se.Exit; x != nil {
		if x.Signal != "" {
			e.Signal = x.Signal
		} else {
			code := x.Code
			e.Code = &code
		}
		if e.Reason == "" {
			e.Reason = x.Reason
		}
	}
	return e
}
