package resources

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/logs"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/handlers"
	"github.com/velos-pm/velos/tools"
)

// protocols are the two MCP eras the SDK speaks; subscriptions work
// differently in each (resources/subscribe vs subscriptions/listen).
var protocols = []string{"2026-07-28", "2025-11-25"}

// fixture is a real log store and a real supervisor running one child,
// "app", whose log the test writes through a pipe it attaches itself.
type fixture struct {
	hub *Hub
	srv *mcp.Server
	w   *io.PipeWriter
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := logs.Open(logs.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	procs := supervisor.NewManager(supervisor.Options{})
	if _, err := procs.Start(supervisor.Spec{Name: "app", Command: []string{"sleep", "300"}}); err != nil {
		t.Fatal(err)
	}
	r, w := io.Pipe()
	done := store.Attach("app", logs.Out, r, nil)
	t.Cleanup(func() {
		w.Close()
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		procs.Shutdown(ctx)
		store.Close()
	})
	d := &handlers.Deps{Procs: procs, Logs: store}
	hub := New(d)
	opts := &mcp.ServerOptions{}
	hub.Options(opts)
	srv := mcp.NewServer(&mcp.Implementation{Name: "velos-test"}, opts)
	hub.Register(srv)
	return &fixture{hub: hub, srv: srv, w: w}
}

// connect opens a client session speaking protocol; updates receives the
// URI of every resources/updated notification.
func (f *fixture) connect(t *testing.T, protocol string) (*mcp.ClientSession, <-chan string) {
	t.Helper()
	st, ct := mcp.NewInMemoryTransports()
	if _, err := f.srv.Connect(context.Background(), st, nil); err != nil {
		t.Fatal(err)
	}
	updates := make(chan string, 16)
	c := mcp.NewClient(&mcp.Implementation{Name: "test"}, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, r *mcp.ResourceUpdatedNotificationRequest) {
			updates <- r.Params.URI
		},
	})
	cs, err := c.Connect(context.Background(), ct, &mcp.ClientSessionOptions{ProtocolVersion: protocol})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, updates
}

func readText(t *testing.T, cs *mcp.ClientSession, uri string) string {
	t.Helper()
	res, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: uri})
	if err != nil {
		t.Fatalf("read %s: %v", uri, err)
	}
	return res.Contents[0].Text
}

// waitWatchers fails unless every watcher goroutine has ended within d.
func waitWatchers(t *testing.T, h *Hub, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { h.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("watchers still running after %v: %d URIs watched", d, h.Watching())
	}
}

func TestSubscribeUpdateReadAndDisconnect(t *testing.T) {
	for _, proto := range protocols {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			cs, updates := f.connect(t, proto)
			ctx := context.Background()
			uri := tools.LogsURI("app")
			if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: uri}); err != nil {
				t.Fatal(err)
			}
			// Under 2026-07-28 Subscribe returns before the server has
			// registered the listen stream (see go-deps.md §2c).
			time.Sleep(100 * time.Millisecond)
			if n := f.hub.Watching(); n != 1 {
				t.Fatalf("watching %d URIs, want 1", n)
			}

			sent := time.Now()
			if _, err := io.WriteString(f.w, "\x1b[31mhello\x1b[0m world\n"); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-updates:
				if got != uri {
					t.Fatalf("update for %q, want %q", got, uri)
				}
				t.Logf("update %v after the line", time.Since(sent))
			case <-time.After(time.Second):
				t.Fatal("no resources/updated within 1s of the line")
			}
			text := readText(t, cs, uri)
			if !strings.Contains(text, " hello world\n") || strings.Contains(text, "\x1b") {
				t.Fatalf("resource text %q: want the new line, colour codes removed", text)
			}

			// The client goes away without unsubscribing: the watcher ends.
			cs.Close()
			waitWatchers(t, f.hub, 5*time.Second)
			if n := f.hub.Watching(); n != 0 {
				t.Fatalf("watching %d URIs after the only subscriber left", n)
			}
		})
	}
}

func TestWatcherLivesWhileAnySessionSubscribes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	uri := tools.LogsURI("app")
	a, _ := f.connect(t, "2025-11-25")
	b, updates := f.connect(t, "2025-11-25")
	for _, cs := range []*mcp.ClientSession{a, b} {
		if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: uri}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: uri}); err != nil {
		t.Fatal(err)
	}
	if n := f.hub.Watching(); n != 1 {
		t.Fatalf("watching %d URIs after one of two unsubscribed, want 1", n)
	}
	io.WriteString(f.w, "still here\n")
	select {
	case <-updates:
	case <-time.After(time.Second):
		t.Fatal("the remaining subscriber got no update")
	}
	if err := b.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: uri}); err != nil {
		t.Fatal(err)
	}
	waitWatchers(t, f.hub, 5*time.Second)
}

func TestUnknownAndProcesses(t *testing.T) {
	for _, proto := range protocols {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			cs, _ := f.connect(t, proto)
			ctx := context.Background()

			_, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: tools.LogsURI("nope")})
			if err == nil || !strings.Contains(err.Error(), `unknown process "nope"`) || !strings.Contains(err.Error(), "app") {
				t.Fatalf("read of an unknown process: %v; want an error naming it and the known ones", err)
			}
			if proto == "2025-11-25" { // the 2026 era reports a refused listen to no one
				err = cs.Subscribe(ctx, &mcp.SubscribeParams{URI: tools.LogsURI("nope")})
				if err == nil || !strings.Contains(err.Error(), "unknown process") {
					t.Fatalf("subscribe to an unknown process: %v", err)
				}
			}
			if n := f.hub.Watching(); n != 0 {
				t.Fatalf("a refused subscription left %d watchers", n)
			}

			var out tools.ProcessesOut
			if err := json.Unmarshal([]byte(readText(t, cs, ProcessesURI)), &out); err != nil {
				t.Fatal(err)
			}
			if len(out.Processes) != 1 || out.Processes[0].Name != "app" || out.Processes[0].Status != "online" {
				t.Fatalf("processes resource: %+v", out.Processes)
			}
		})
	}
}

func TestText(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	tests := []struct {
		name  string
		lines []logs.Line
		want  string
	}{
		{"empty", nil, ""},
		{"one process", []logs.Line{
			{Time: at, Name: "api", Stream: logs.Out, Text: "GET / 200"},
			{Time: at, Name: "api", Stream: logs.Err, Text: "\x1b[31mboom\x1b[0m"},
		}, "2026-01-02T03:04:05.678Z GET / 200\n2026-01-02T03:04:05.678Z [err] boom\n"},
		{"several", []logs.Line{
			{Time: at, Name: "api", Stream: logs.Out, Text: "a"},
			{Time: at, Name: "web", Stream: logs.Err, Text: "b"},
		}, "2026-01-02T03:04:05.678Z api a\n2026-01-02T03:04:05.678Z web [err] b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.lines); got != tt.want {
				t.Errorf("Text:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
