package handlers

import (
	"testing"
	"time"

	"github.com/velos-pm/velos/core/events"
	"github.com/velos-pm/velos/core/supervisor"
)

func TestEvent(t *testing.T) {
	for _, c := range []struct {
		in   supervisor.Event
		kind string
		want func(events.Event) bool
	}{
		{supervisor.Event{Kind: supervisor.EventStarted, PID: 5}, events.Start, func(e events.Event) bool { return e.PID == 5 && e.Cause == "" }},
		{supervisor.Event{Kind: supervisor.EventStarted, Cause: "exit 1"}, events.Restart, func(e events.Event) bool { return e.Cause == "exit 1" }},
		{supervisor.Event{Kind: supervisor.EventCrashed, Exit: &supervisor.Exit{Code: 1}, Delay: 100 * time.Millisecond}, events.Exit,
			func(e events.Event) bool { return *e.Code == 1 && e.RestartIn == "100ms" }},
		{supervisor.Event{Kind: supervisor.EventCrashed, Exit: &supervisor.Exit{Code: -1, Signal: "SIGKILL"}}, events.Exit,
			func(e events.Event) bool { return e.Code == nil && e.Signal == "SIGKILL" }},
		{supervisor.Event{Kind: supervisor.EventExited, Exit: &supervisor.Exit{Code: 2}, Reason: "crash loop"}, events.Errored,
			func(e events.Event) bool { return e.Reason == "crash loop" }},
		{supervisor.Event{Kind: supervisor.EventExited, Exit: &supervisor.Exit{Code: 0}}, events.Exit, func(e events.Event) bool { return *e.Code == 0 }},
		{supervisor.Event{Kind: supervisor.EventStopped, Exit: &supervisor.Exit{Code: -1, Signal: "SIGTERM"}}, events.Stopped, func(e events.Event) bool { return true }},
		{supervisor.Event{Kind: supervisor.EventDeleted}, events.Deleted, func(e events.Event) bool { return true }},
		{supervisor.Event{Kind: supervisor.EventReady}, events.Ready, func(e events.Event) bool { return true }},
	} {
		got := Event(c.in)
		if got.Kind != c.kind || !c.want(got) {
			t.Errorf("%+v: %+v, want kind %s", c.in, got, c.kind)
		}
	}
}
