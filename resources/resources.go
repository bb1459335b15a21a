// Package resources holds Velos's MCP resources: velos://processes, the
// process list as JSON, velos://events, the recent events as JSON lines
// (subscribable), and the template velos://logs/{name}, the recent
// lines of a process (a name, an id or all) as plain text, to which clients
// subscribe. A subscriber gets notifications/resources/updated when new
// lines are written — coalesced by the log store to a few per second — and
// reads the resource or calls process_logs with its cursor. The CLI's
// `velos logs -f` follows through the same subscription.
package resources

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/core/logs"
	"github.com/velos-pm/velos/handlers"
	"github.com/velos-pm/velos/tools"
)

// ProcessesURI is the resource of the process list.
const ProcessesURI = "velos://processes"

// EventsURI is the resource of the daemon's recent events (see package
// core/events): JSON lines, newest last; subscribers are told of new ones.
const EventsURI = "velos://events"

// Bounds of one read of a log resource: the recent lines, not the history
// (process_logs pages through that).
const (
	readLines = 100
	readBytes = 32 << 10
)

// notifyTimeout bounds sending one notification, so a client that stopped
// reading cannot hold a watcher.
const notifyTimeout = 5 * time.Second

// Hub serves the resources of one MCP server and keeps, for each
// subscribed log URI, one watcher on the log store that lives exactly as
// long as some session is subscribed.
type Hub struct {
	d   *handlers.Deps
	srv *mcp.Server

	mu       sync.Mutex
	watches  map[string]*watch               // uri → its watcher
	sessions map[*mcp.ServerSession]bool     // sessions being waited on
	bySess   map[*mcp.ServerSession][]string // session → its subscribed URIs
	wg       sync.WaitGroup                  // watcher goroutines
}

// watch is one subscribed URI: its sessions and the watcher's stop.
type watch struct {
	sessions map[*mcp.ServerSession]bool
	stop     chan struct{}
}

// New makes a hub for the tools' dependencies. Set its handlers with
// [Hub.Options] before creating the server, then [Hub.Register] it.
func New(d *handlers.Deps) *Hub {
	return &Hub{d: d, watches: map[string]*watch{}, sessions: map[*mcp.ServerSession]bool{},
		bySess: map[*mcp.ServerSession][]string{}}
}

// Options sets the subscription handlers in o, which makes the server
// advertise resources.subscribe (both protocol eras).
func (h *Hub) Options(o *mcp.ServerOptions) {
	o.SubscribeHandler = h.subscribe
	o.UnsubscribeHandler = h.unsubscribe
}

// Register adds the resources to srv, the server made with [Hub.Options].
func (h *Hub) Register(srv *mcp.Server) {
	h.srv = srv
	srv.AddResource(&mcp.Resource{URI: ProcessesURI, Name: "processes", Title: "Processes",
		Description: "Every managed process with its status, pid, CPU, memory, uptime and restarts (as process_list).",
		MIMEType:    "application/json"}, h.readProcesses)
	srv.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: tools.LogsURIPrefix + "{name}", Name: "logs", Title: "Process logs",
		Description: "The last 100 lines of a process (name, id or all), plain text, one per line: UTC time, [err] on stderr. Subscribe for updates; page with process_logs.",
		MIMEType:    "text/plain"}, h.readLogs)
	if h.d.Events != nil {
		srv.AddResource(&mcp.Resource{URI: EventsURI, Name: "events", Title: "Events",
			Description: "Recent process events, one JSON object per line, newest last: start, ready, exit (code or signal; restart_in), restart (cause), errored (reason), stopped, deleted, config (detail); seq orders them. Subscribe to be told of new ones.",
			MIMEType:    EventsMIME}, h.readEvents)
		ch, cancel := h.d.Events.Subscribe()
		h.wg.Add(1)
		go h.notifyEvents(ch, cancel)
	}
}

// EventsMIME is the media type of [EventsURI]: JSON lines.
const EventsMIME = "application/jsonl"

func (h *Hub) readEvents(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	var sb strings.Builder
	for _, e := range h.d.Events.Since(0) {
		b, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EventsURI, err)
		}
		sb.Write(b)
		sb.WriteByte('\n')
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{
		{URI: req.Params.URI, MIMEType: EventsMIME, Text: sb.String()}}}, nil
}

// notifyEvents tells the server's subscribers of velos://events of new
// events until the event log closes (the daemon stops). The server sends
// only to sessions subscribed to the URI.
func (h *Hub) notifyEvents(ch <-chan struct{}, cancel func()) {
	defer h.wg.Done()
	defer cancel()
	for range ch {
		ctx, stop := context.WithTimeout(context.Background(), notifyTimeout)
		_ = h.srv.ResourceUpdated(ctx, &mcp.ResourceUpdatedNotificationParams{URI: EventsURI})
		stop()
	}
}

// Watching is the number of URIs with a live watcher (for tests).
func (h *Hub) Watching() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.watches)
}

// Wait waits for every watcher goroutine to end: after the last session
// left or the log store closed.
func (h *Hub) Wait() { h.wg.Wait() }

func (h *Hub) readProcesses(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	out, err := handlers.ProcessList(ctx, h.d)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ProcessesURI, err)
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{
		{URI: req.Params.URI, MIMEType: "application/json", Text: string(b)}}}, nil
}

// target resolves a log URI to its log names; an unknown process is a
// resource-not-found error that lists the known names.
func (h *Hub) target(uri string) ([]string, error) {
	t, ok := strings.CutPrefix(uri, tools.LogsURIPrefix)
	if !ok || t == "" || strings.Contains(t, "/") {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams,
			Message: fmt.Sprintf("%s: not a velos resource; want %s or %s{name}", uri, ProcessesURI, tools.LogsURIPrefix)}
	}
	names, err := handlers.LogNames(h.d, t)
	if err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("%s: %v", uri, err)}
	}
	return names, nil
}

func (h *Hub) readLogs(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	names, err := h.target(req.Params.URI)
	if err != nil {
		return nil, err
	}
	res, err := h.d.Logs.Query(ctx, logs.Query{Names: names, Lines: readLines, MaxLines: readLines, MaxBytes: readBytes})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.Params.URI, err)
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{
		{URI: req.Params.URI, MIMEType: "text/plain", Text: Text(res.Lines)}}}, nil
}

// Text is lines as a log resource shows them, for an agent: one per line,
// "2006-01-02T15:04:05.000Z [name ][err] text", the name only when several
// processes mix, colour codes removed and secrets redacted.
func Text(lines []logs.Line) string {
	multi := false
	for _, l := range lines {
		multi = multi || l.Name != lines[0].Name
	}
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString(l.Time.UTC().Format("2006-01-02T15:04:05.000Z"))
		sb.WriteByte(' ')
		if multi {
			sb.WriteString(l.Name)
			sb.WriteByte(' ')
		}
		if l.Stream == logs.Err {
			sb.WriteString("[err] ")
		}
		sb.WriteString(insight.Redact(logs.StripANSI(l.Text)))
		sb.WriteByte('\n')
	}
	return sb.String()
}

func (h *Hub) subscribe(ctx context.Context, req *mcp.SubscribeRequest) error {
	uri := req.Params.URI
	if uri == EventsURI && h.d.Events != nil {
		return nil // the server keeps the subscription; notifyEvents sends
	}
	if uri == ProcessesURI {
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams,
			Message: ProcessesURI + " has no updates to subscribe to; subscribe to " + tools.LogsURIPrefix + "{name}"}
	}
	names, err := h.target(uri)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.watches[uri]
	if w == nil {
		w = &watch{sessions: map[*mcp.ServerSession]bool{}, stop: make(chan struct{})}
		h.watches[uri] = w
		h.wg.Add(1)
		go h.run(uri, names, w)
	}
	if !w.sessions[req.Session] {
		w.sessions[req.Session] = true
		h.bySess[req.Session] = append(h.bySess[req.Session], uri)
	}
	// Under the 2025 protocol a session that disconnects is never
	// unsubscribed: wait for its end to drop it.
	if req.Session != nil && !h.sessions[req.Session] {
		h.sessions[req.Session] = true
		go func(ss *mcp.ServerSession) {
			_ = ss.Wait()
			h.dropSession(ss)
		}(req.Session)
	}
	return nil
}

func (h *Hub) unsubscribe(ctx context.Context, req *mcp.UnsubscribeRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(req.Params.URI, req.Session)
	return nil
}

func (h *Hub) dropSession(ss *mcp.ServerSession) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, uri := range h.bySess[ss] {
		h.removeLocked(uri, ss)
	}
	delete(h.bySess, ss)
	delete(h.sessions, ss)
}

// removeLocked ends a session's subscription to uri, and the URI's watcher
// with its last session.
func (h *Hub) removeLocked(uri string, ss *mcp.ServerSession) {
	w := h.watches[uri]
	if w == nil || !w.sessions[ss] {
		return
	}
	delete(w.sessions, ss)
	if len(w.sessions) == 0 {
		close(w.stop)
		delete(h.watches, uri)
	}
	if uris := h.bySess[ss]; uris != nil {
		for i, u := range uris {
			if u == uri {
				h.bySess[ss] = append(uris[:i], uris[i+1:]...)
				break
			}
		}
	}
}

// run is one URI's watcher: a log-store subscription per log name (one for
// all), each signal turned into resources/updated for the URI's sessions.
func (h *Hub) run(uri string, names []string, w *watch) {
	defer h.wg.Done()
	if len(names) == 1 && names[0] == "all" {
		names = []string{""} // the store's "any process"
	}
	merged := make(chan struct{}, 1)
	var cancels []func()
	var fwd sync.WaitGroup
	for _, n := range names {
		ch, cancel := h.d.Logs.Subscribe(n)
		cancels = append(cancels, cancel)
		fwd.Add(1)
		go func() {
			defer fwd.Done()
			for range ch { // ends when cancelled or the store closes
				select {
				case merged <- struct{}{}:
				default: // one is pending: it covers this one
				}
			}
		}()
	}
	allClosed := make(chan struct{})
	go func() { fwd.Wait(); close(allClosed) }()
	defer func() {
		for _, c := range cancels {
			c()
		}
		<-allClosed
	}()
	for {
		select {
		case <-w.stop:
			return
		case <-allClosed: // the store closed: the daemon is stopping
			return
		case <-merged:
			ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
			_ = h.srv.ResourceUpdated(ctx, &mcp.ResourceUpdatedNotificationParams{URI: uri})
			cancel()
		}
	}
}
