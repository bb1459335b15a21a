package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/events"
	"github.com/velos-pm/velos/internal/testenv"
)

// eventsReader subscribes a session to velos://events and reads the
// backlog again after each update.
type eventsReader struct {
	cs      *mcp.ClientSession
	updated chan struct{}
}

func subscribeEvents(t *testing.T, connect func(*mcp.ClientOptions) *mcp.ClientSession) *eventsReader {
	t.Helper()
	r := &eventsReader{updated: make(chan struct{}, 1)}
	r.cs = connect(&mcp.ClientOptions{ResourceUpdatedHandler: func(_ context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
		if req.Params.URI == "velos://events" {
			select {
			case r.updated <- struct{}{}:
			default:
			}
		}
	}})
	if err := r.cs.Subscribe(context.Background(), &mcp.SubscribeParams{URI: "velos://events"}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *eventsReader) read(t *testing.T) []events.Event {
	t.Helper()
	res, err := r.cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "velos://events"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Contents[0].MIMEType != "application/jsonl" {
		t.Errorf("MIME type %q", res.Contents[0].MIMEType)
	}
	var out []events.Event
	for _, line := range strings.Split(strings.TrimSpace(res.Contents[0].Text), "\n") {
		if line == "" {
			continue
		}
		var e events.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("event line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// waitFor waits, until deadline, for updates after which the backlog holds
// an event that ok accepts after seq; it returns that event.
func (r *eventsReader) waitFor(t *testing.T, deadline time.Time, seq int64, ok func(events.Event) bool) (events.Event, bool) {
	t.Helper()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		for _, e := range r.read(t) {
			if e.Seq > seq && ok(e) {
				return e, true
			}
		}
		select {
		case <-r.updated:
		case <-timer.C:
			return events.Event{}, false
		}
	}
}

// A subscriber to velos://events sees a crash (exit with its signal) and
// the restart with its cause within 1 s of the kill, on the daemon socket
// (protocol 2026-07-28) and through velos mcp-server (2025-11-25).
func TestEventsCrashAndRestart(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	var out struct{ Processes []struct{ PID int } }
	if err := json.Unmarshal([]byte(e.MustRun("start", "sleep", "--name", "api", "--json", "--", "300")), &out); err != nil || len(out.Processes) != 1 {
		t.Fatal(err)
	}
	readers := map[string]*eventsReader{
		"socket": subscribeEvents(t, func(o *mcp.ClientOptions) *mcp.ClientSession { return connectWith(t, e, o, nil) }),
		"bridge": subscribeEvents(t, func(o *mcp.ClientOptions) *mcp.ClientSession {
			return bridgeWith(t, e, o, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		}),
	}
	// The backlog already holds the start.
	before := readers["socket"].read(t)
	if len(before) < 2 || before[0].Kind != events.Start || before[0].Name != "api" || before[1].Kind != events.Ready {
		t.Fatalf("backlog before the crash: %+v", before)
	}
	// A config change is an event too; its notification reaching both
	// sessions also says both subscriptions are live (under 2026-07-28 a
	// subscription is a stream of its own, set up after Subscribe returns).
	last := before[len(before)-1].Seq
	e.MustRun("config", "set", "api", "max_memory", "200M")
	var cfgSeq int64
	for via, r := range readers {
		select {
		case <-r.updated:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no notifications/resources/updated for the config change", via)
		}
		ev, ok := r.waitFor(t, time.Now().Add(10*time.Second), last, func(e events.Event) bool { return e.Kind == events.Config })
		if !ok || ev.Name != "api" || ev.ID != -1 || !strings.Contains(ev.Detail, "max_memory") {
			t.Fatalf("%s: config event: %+v %v", via, ev, ok)
		}
		cfgSeq = ev.Seq
	}
	last = cfgSeq
	if err := syscall.Kill(out.Processes[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for via, r := range readers {
		exit, ok := r.waitFor(t, deadline, last, func(e events.Event) bool { return e.Kind == events.Exit && e.Name == "api" })
		if !ok {
			t.Errorf("%s: no exit event within 1 s of the kill: %+v", via, r.read(t))
			continue
		}
		if exit.Signal != "SIGKILL" || exit.RestartIn == "" {
			t.Errorf("%s: exit event %+v, want signal SIGKILL and restart_in", via, exit)
		}
		restart, ok := r.waitFor(t, deadline, exit.Seq, func(e events.Event) bool { return e.Kind == events.Restart && e.Name == "api" })
		if !ok {
			t.Errorf("%s: no restart event within 1 s of the kill: %+v", via, r.read(t))
			continue
		}
		if restart.Cause != "SIGKILL" || restart.PID == 0 || restart.PID == out.Processes[0].PID {
			t.Errorf("%s: restart event %+v, want cause SIGKILL and a new pid", via, restart)
		}
	}
}

// connectWith is testenv's Connect with client options.
func connectWith(t *testing.T, e *testenv.Env, o *mcp.ClientOptions, so *mcp.ClientSessionOptions) *mcp.ClientSession {
	t.Helper()
	return e.ConnectClient(mcp.NewClient(&mcp.Implementation{Name: "test"}, o), so)
}

// bridgeWith is testenv's Bridge with client options.
func bridgeWith(t *testing.T, e *testenv.Env, o *mcp.ClientOptions, so *mcp.ClientSessionOptions) *mcp.ClientSession {
	t.Helper()
	return e.BridgeClient(mcp.NewClient(&mcp.Implementation{Name: "test"}, o), so)
}

// velos events -f prints the backlog, then each new event as it happens,
// through the velos://events subscription; Ctrl-C ends it with exit 0.
func TestEventsFollowCLI(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	var out struct{ Processes []struct{ PID int } }
	if err := json.Unmarshal([]byte(e.MustRun("start", "sleep", "--name", "api", "--json", "--", "300")), &out); err != nil || len(out.Processes) != 1 {
		t.Fatal(err)
	}
	e.MustRun("start", "sleep", "--name", "other", "--", "300")
	if got := e.MustRun("events", "api"); !strings.Contains(got, "api #0 start pid") || strings.Contains(got, "other") {
		t.Errorf("velos events api:\n%s", got)
	}
	cmd := exec.Command(e.Bin, "events", "-f", "--json", "api")
	cmd.Env = append(os.Environ(), "VELOS_HOME="+e.Home)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan events.Event)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev events.Event
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				lines <- ev
			}
		}
	}()
	next := func(what string, ok func(events.Event) bool) events.Event {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case ev, open := <-lines:
				if !open {
					t.Fatalf("velos events -f ended before %s", what)
				}
				if ok(ev) {
					return ev
				}
			case <-timeout:
				t.Fatalf("no %s from velos events -f", what)
			}
		}
	}
	// The backlog first: once the ready event is out, -f is subscribed.
	next("ready event", func(ev events.Event) bool { return ev.Kind == events.Ready && ev.Name == "api" })
	if err := syscall.Kill(out.Processes[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if ev := next("exit event", func(ev events.Event) bool { return ev.Kind == events.Exit }); ev.Signal != "SIGKILL" {
		t.Errorf("exit event %+v", ev)
	}
	if ev := next("restart event", func(ev events.Event) bool { return ev.Kind == events.Restart }); ev.Cause != "SIGKILL" {
		t.Errorf("restart event %+v", ev)
	}
	cmd.Process.Signal(os.Interrupt)
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("velos events -f after Ctrl-C: %v", err)
	}
}
