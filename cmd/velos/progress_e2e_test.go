package main

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/events"
	"github.com/velos-pm/velos/internal/testenv"
)

// progressLog collects a session's notifications/progress.
type progressLog struct {
	mu   sync.Mutex
	msgs []string
	last float64
	bad  bool // a progress value that did not increase
	got  chan string
}

func newProgressLog() *progressLog { return &progressLog{got: make(chan string, 100)} }

func (p *progressLog) options() *mcp.ClientOptions {
	return &mcp.ClientOptions{ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
		p.mu.Lock()
		p.msgs = append(p.msgs, req.Params.Message)
		p.bad = p.bad || req.Params.Progress <= p.last
		p.last = req.Params.Progress
		p.mu.Unlock()
		select {
		case p.got <- req.Params.Message:
		default:
		}
	}}
}

// atLeast waits until n notifications have arrived (the client may hand
// them to the handler after the call's answer), then returns them all.
func (p *progressLog) atLeast(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(p.all()) < n {
		select {
		case <-p.got:
		case <-deadline:
			t.Fatalf("%d progress notifications, want %d: %q", len(p.all()), n, p.all())
		}
	}
	return p.all()
}

// waitMsg waits for a notification whose message has the prefix.
func (p *progressLog) waitMsg(t *testing.T, prefix string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case msg := <-p.got:
			if strings.HasPrefix(msg, prefix) {
				return
			}
		case <-deadline:
			t.Fatalf("no progress %q within 10 s: %q", prefix, p.all())
		}
	}
}

func (p *progressLog) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.msgs)
}

func withToken(name string, args map[string]any, token string) *mcp.CallToolParams {
	return &mcp.CallToolParams{Name: name, Arguments: args, Meta: mcp.Meta{"progressToken": token}}
}

// A rolling reload of a cluster reports each instance's steps as
// notifications/progress when the call carries a progress token; a call
// without one gets none.
func TestReloadReportsProgress(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "api", "-i", "2", "--", "300")
	p := newProgressLog()
	cs := connectWith(t, e, p.options(), nil)
	res, err := cs.CallTool(context.Background(), withToken("process_reload", map[string]any{"target": "api"}, "r1"))
	if err != nil || res.IsError {
		t.Fatalf("reload: %v %+v", err, res)
	}
	msgs := p.atLeast(t, 2)
	for _, want := range []string{"api-0 (id 0): 1/1 restarting", "api-1 (id 1): 1/1 restarting"} {
		if !slices.Contains(msgs, want) {
			t.Errorf("no progress %q in %q", want, msgs)
		}
	}
	if p.bad {
		t.Errorf("progress did not increase: %q", msgs)
	}
	n := len(msgs)
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "process_reload", Arguments: map[string]any{"target": "api"}}); err != nil {
		t.Fatal(err)
	}
	if len(p.all()) != n {
		t.Errorf("progress without a token: %q", p.all()[n:])
	}
}

// A stop reports each process stopped; cancelled (notifications/cancelled)
// while a process ignores SIGTERM with a kill_timeout of a minute, it ends
// the grace at once: the process is SIGKILLed and ends stopped.
func TestStopProgressAndCancel(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "a", "--", "300")
	e.MustRun("start", "sleep", "--name", "b", "--", "300")
	e.MustRun("start", "sh", "--name", "stubborn", "--kill-timeout", "60s", "--", "-c", `trap "" TERM; while :; do sleep 1; done`)
	p := newProgressLog()
	cs := connectWith(t, e, p.options(), nil)
	if res, err := cs.CallTool(context.Background(), withToken("process_stop", map[string]any{"target": "a"}, "s1")); err != nil || res.IsError {
		t.Fatalf("stop a: %v %+v", err, res)
	}
	if msgs := p.atLeast(t, 2); len(msgs) != 2 || !strings.Contains(msgs[0], "stopping 1 process") || msgs[1] != "a (id 0) stopped (1/1)" {
		t.Errorf("stop progress: %q", msgs)
	}

	ev := subscribeEvents(t, func(o *mcp.ClientOptions) *mcp.ClientSession { return connectWith(t, e, o, nil) })
	var last int64
	if b := ev.read(t); len(b) > 0 {
		last = b[len(b)-1].Seq
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(ctx, withToken("process_stop", map[string]any{"target": "stubborn"}, "s2"))
		done <- err
	}()
	// The stop is under way once it says so.
	p.waitMsg(t, "stopping 1 process(es): kill signal sent, SIGKILL after kill_timeout (up to 1m0s)")
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled stop returned %v", err)
	}
	stopped, ok := ev.waitFor(t, time.Now().Add(10*time.Second), last, func(e events.Event) bool { return e.Name == "stubborn" && e.Kind == events.Stopped })
	if !ok || stopped.Signal != "SIGKILL" {
		t.Fatalf("after the cancel: %+v %v (events %+v)", stopped, ok, ev.read(t))
	}
	if s := status(t, e, "stubborn"); s != "stopped" {
		t.Errorf("stubborn is %s after a cancelled stop, want stopped", s)
	}
	if s := status(t, e, "b"); s != "online" {
		t.Errorf("b is %s, want online", s)
	}
}

// Resurrect reports each saved process as it starts it.
func TestResurrectReportsProgress(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	for _, n := range []string{"one", "two", "three"} {
		e.MustRun("start", "sleep", "--name", n, "--", "300")
	}
	e.MustRun("save")
	e.MustRun("delete", "two")
	p := newProgressLog()
	cs := connectWith(t, e, p.options(), nil)
	res, err := cs.CallTool(context.Background(), withToken("state_resurrect", map[string]any{}, "z"))
	if err != nil || res.IsError {
		t.Fatalf("resurrect: %v %+v", err, res)
	}
	want := []string{"one already running: skipped (1/3)", "two started (2/3)", "three already running: skipped (3/3)"}
	if got := p.atLeast(t, 3); !slices.Equal(got, want) {
		t.Errorf("resurrect progress %q\nwant %q", got, want)
	}
}

// A reload cancelled while a new instance is not ready yet stops early and
// leaves every instance serving: the one being replaced keeps its old run
// (the new one is stopped), the one after it is not touched.
func TestReloadCancelled(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := t.TempDir()
	// The first run of each instance says READY=1; any later one never does.
	script := `m="` + dir + `/ran-$VELOS_INSTANCE"; if [ -e "$m" ]; then exec sleep 300; fi; touch "$m"; exec "$0" -ready-after 0s`
	e.MustRun("start", "sh", "--name", "api", "-i", "2", "--wait-ready", "--", "-c", script, testenv.TestApp(t))
	var procs struct{ Processes []struct{ ID, PID int } }
	if err := json.Unmarshal([]byte(e.MustRun("list", "--json")), &procs); err != nil || len(procs.Processes) != 2 {
		t.Fatalf("list: %v %+v", err, procs)
	}
	before := []int{procs.Processes[0].PID, procs.Processes[1].PID}

	p := newProgressLog()
	cs := connectWith(t, e, p.options(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(ctx, withToken("process_reload", map[string]any{"target": "api"}, "rc"))
		done <- err
	}()
	p.waitMsg(t, "api-0 (id 0): 1/1 starting a new instance")
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled reload returned %v", err)
	}
	// The supervisor answers the cancelled call once the new run is gone.
	waitFor(t, "the reload to end", 10*time.Second, func() bool {
		out := e.MustRun("describe", "api", "--json")
		return !strings.Contains(out, "launching") && !strings.Contains(out, "stopping")
	})
	if err := json.Unmarshal([]byte(e.MustRun("list", "--json")), &procs); err != nil {
		t.Fatal(err)
	}
	for i, pr := range procs.Processes {
		if want := before[i]; pr.PID != want {
			t.Errorf("instance %d runs pid %d after the cancelled reload, want its old run %d", i, pr.PID, want)
		}
	}
	if s := status(t, e, "api"); s != "online" {
		t.Errorf("api is %s, want online", s)
	}
}
