// Package mcpclient is the small MCP client the velos CLI speaks to its
// daemon with: tools/call and resource subscriptions over newline-delimited
// JSON-RPC (the stdio and unix-socket framing), in protocol revision
// 2026-07-28, where every request carries its own _meta and no initialize
// handshake is needed — so a CLI command is one round trip. It does only
// what the CLI needs; real MCP clients (agents, the TypeScript and Go SDKs)
// reach the same server with either revision through velos mcp-server or
// HTTP. The CLI links this instead of the MCP SDK, which with its schema
// validator and transports costs more to start than a command takes.
package mcpclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// Protocol is the MCP revision the client speaks.
const Protocol = "2026-07-28"

// The _meta keys of a 2026-07-28 request (SEP-2575).
const (
	metaProtocol     = "io.modelcontextprotocol/protocolVersion"
	metaClientInfo   = "io.modelcontextprotocol/clientInfo"
	metaCapabilities = "io.modelcontextprotocol/clientCapabilities"
	metaSubscription = "io.modelcontextprotocol/subscriptionId"
)

// ErrClosed is returned by calls that were not answered because the
// connection ended first. Nothing was answered on it: the server may have
// been on its way out when it accepted the connection.
var ErrClosed = errors.New("mcp: connection closed before the answer")

// Error is a JSON-RPC error the server answered with (a protocol error, as
// opposed to a tool's own failure, which is a [Result] with IsError).
type Error struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

// Result is a tools/call result.
type Result struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text,omitempty"`
	} `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent,omitempty"`
	IsError           bool            `json:"isError,omitempty"`
}

// Text is the result's text content, joined by newlines.
func (r *Result) Text() string {
	var parts []string
	for _, c := range r.Content {
		if c.Type == "text" {
			parts = append(parts, c.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// Client is one connection to an MCP server. Its methods may be called from
// several goroutines.
type Client struct {
	conn io.ReadWriteCloser
	info map[string]string // clientInfo

	wmu sync.Mutex // one message written at a time

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan reply       // id → its answer
	acks    map[int64]chan struct{}    // subscriptions/listen id → closed on acknowledgement
	subs    map[string][]chan struct{} // uri → subscribers' signals
	// progress: progress token → the handler of its call's notifications
	progress  map[string]func(Progress)
	nextToken int64
	closed    bool
	done      chan struct{} // closed when the connection has ended
}

type reply struct {
	result json.RawMessage
	err    error
}

// New starts a client on conn, identifying itself as name and version.
// Close ends it.
func New(conn io.ReadWriteCloser, name, version string) *Client {
	c := &Client{conn: conn, info: map[string]string{"name": name, "version": version},
		pending: map[int64]chan reply{}, acks: map[int64]chan struct{}{},
		subs: map[string][]chan struct{}{}, progress: map[string]func(Progress){}, done: make(chan struct{})}
	go c.read()
	return c
}

// Done is closed once the connection has ended (the server went away, or
// Close was called).
func (c *Client) Done() <-chan struct{} { return c.done }

// Close ends the connection; calls waiting for an answer get [ErrClosed]
// and subscriptions' channels are closed.
func (c *Client) Close() error {
	err := c.conn.Close()
	<-c.done
	return err
}

// CallTool calls the tool name with arguments args (marshalled as JSON).
// meta is added to the request's _meta, beside the protocol's own keys. A
// tool's own failure is a Result with IsError, not an error.
func (c *Client) CallTool(ctx context.Context, name string, args any, meta map[string]any) (*Result, error) {
	params := map[string]any{"name": name, "arguments": args}
	raw, err := c.call(ctx, "tools/call", params, meta, nil)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("mcp: tools/call %s: result: %w", name, err)
	}
	return &r, nil
}

// ReadResource reads the resource at uri and returns its text contents,
// joined.
func (c *Client) ReadResource(ctx context.Context, uri string) (string, error) {
	raw, err := c.call(ctx, "resources/read", map[string]any{"uri": uri}, nil, nil)
	if err != nil {
		return "", err
	}
	var r struct {
		Contents []struct {
			Text string `json:"text"`
		} `json:"contents"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", fmt.Errorf("mcp: resources/read %s: result: %w", uri, err)
	}
	var sb strings.Builder
	for _, c := range r.Contents {
		sb.WriteString(c.Text)
	}
	return sb.String(), nil
}

// Progress is one notifications/progress about a call.
type Progress struct {
	Progress float64 `json:"progress"`
	Total    float64 `json:"total"` // 0: unknown
	Message  string  `json:"message"`
}

// CallToolProgress is [Client.CallTool] with a progress token: the server
// may report the call's steps, and each is given to onProgress (on the
// connection's reading goroutine: it must not block) until the call
// returns.
func (c *Client) CallToolProgress(ctx context.Context, name string, args any, meta map[string]any, onProgress func(Progress)) (*Result, error) {
	c.mu.Lock()
	c.nextToken++
	token := "p" + strconv.FormatInt(c.nextToken, 10)
	c.progress[token] = onProgress
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.progress, token)
		c.mu.Unlock()
	}()
	m := map[string]any{"progressToken": token}
	for k, v := range meta {
		m[k] = v
	}
	return c.CallTool(ctx, name, args, m)
}

// Ping asks the server for a small answer — server/discover, since the
// 2026-07-28 revision has no ping — to know it serves this connection
// before a request that must not be sent twice.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.call(ctx, "server/discover", map[string]any{}, nil, nil)
	return err
}

// Subscribe asks for notifications/resources/updated about uri (a
// subscriptions/listen stream of its own) and returns once the server has
// acknowledged it, so nothing written after Subscribe returns is missed.
// The channel receives a signal after each update (signals that arrive
// while one is pending merge) and is closed when the connection ends. A
// refused URI is an [*Error].
func (c *Client) Subscribe(ctx context.Context, uri string) (<-chan struct{}, error) {
	ch := make(chan struct{}, 1)
	ack := make(chan struct{})
	params := map[string]any{"notifications": map[string]any{"resourceSubscriptions": []string{uri}}}
	id, answered, err := c.send("subscriptions/listen", params, nil, func(id int64) {
		c.acks[id] = ack
		c.subs[uri] = append(c.subs[uri], ch)
	})
	if err != nil {
		return nil, err
	}
	drop := func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.acks, id)
		list := c.subs[uri]
		for i, s := range list {
			if s == ch {
				c.subs[uri] = append(list[:i], list[i+1:]...)
				break
			}
		}
	}
	select {
	case <-ack:
		return ch, nil
	case r := <-answered: // an answer before the acknowledgement: refused, or ended at once
		drop()
		if r.err != nil {
			return nil, r.err
		}
		return nil, fmt.Errorf("mcp: subscribe %s: the server ended the subscription at once", uri)
	case <-ctx.Done():
		drop()
		c.cancel(id)
		return nil, ctx.Err()
	}
}

// call sends a request and waits for its answer.
func (c *Client) call(ctx context.Context, method string, params map[string]any, meta map[string]any, register func(int64)) (json.RawMessage, error) {
	id, answered, err := c.send(method, params, meta, register)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-answered:
		return r.result, r.err
	case <-ctx.Done():
		c.forget(id)
		c.cancel(id)
		return nil, ctx.Err()
	}
}

// send writes a request with a fresh id; register, when set, runs under the
// lock with that id before anything is written, so an answer or a
// notification about it cannot arrive unseen.
func (c *Client) send(method string, params map[string]any, meta map[string]any, register func(int64)) (int64, <-chan reply, error) {
	m := map[string]any{metaProtocol: Protocol, metaClientInfo: c.info, metaCapabilities: struct{}{}}
	for k, v := range meta {
		m[k] = v
	}
	params["_meta"] = m
	answered := make(chan reply, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, nil, ErrClosed
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = answered
	if register != nil {
		register(id)
	}
	c.mu.Unlock()
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		c.forget(id)
		return 0, nil, fmt.Errorf("mcp: %s: %w", method, err)
	}
	if err := c.write(b); err != nil {
		c.forget(id)
		return 0, nil, err
	}
	return id, answered, nil
}

func (c *Client) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.conn.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return nil
}

func (c *Client) forget(id int64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// cancel tells the server that request id is no longer wanted.
func (c *Client) cancel(id int64) {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled",
		"params": map[string]any{"requestId": id}})
	_ = c.write(b)
}

// message is any JSON-RPC message: a response (ID with Result or Error), a
// notification (Method without ID) or a request from the server (both).
type message struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// read dispatches every message until the connection ends, then fails what
// is still waiting.
func (c *Client) read() {
	defer c.shutdown()
	r := bufio.NewReaderSize(c.conn, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 1 {
			var m message
			if json.Unmarshal(line, &m) == nil {
				c.dispatch(m)
			}
		}
		if err != nil {
			return
		}
	}
}

func (c *Client) dispatch(m message) {
	switch {
	case m.Method != "" && len(m.ID) > 0:
		c.answerServer(m)
	case m.Method != "":
		c.notified(m)
	case len(m.ID) > 0:
		id, err := strconv.ParseInt(string(m.ID), 10, 64)
		if err != nil {
			return // not an id this client gave
		}
		c.mu.Lock()
		ch := c.pending[id]
		delete(c.pending, id)
		c.mu.Unlock()
		if ch == nil {
			return
		}
		if m.Error != nil {
			ch <- reply{err: m.Error}
		} else {
			ch <- reply{result: m.Result}
		}
	}
}

// notified handles a notification from the server.
func (c *Client) notified(m message) {
	switch m.Method {
	case "notifications/subscriptions/acknowledged":
		var p struct {
			Meta map[string]json.RawMessage `json:"_meta"`
		}
		if json.Unmarshal(m.Params, &p) != nil {
			return
		}
		id, err := strconv.ParseInt(string(p.Meta[metaSubscription]), 10, 64)
		if err != nil {
			return
		}
		c.mu.Lock()
		if ack := c.acks[id]; ack != nil {
			close(ack)
			delete(c.acks, id)
		}
		c.mu.Unlock()
	case "notifications/progress":
		var p struct {
			Token any `json:"progressToken"`
			Progress
		}
		if json.Unmarshal(m.Params, &p) != nil {
			return
		}
		tok, _ := p.Token.(string)
		c.mu.Lock()
		fn := c.progress[tok]
		c.mu.Unlock()
		if fn != nil {
			fn(p.Progress)
		}
	case "notifications/resources/updated":
		var p struct {
			URI string `json:"uri"`
		}
		if json.Unmarshal(m.Params, &p) != nil {
			return
		}
		c.mu.Lock()
		for _, ch := range c.subs[p.URI] {
			select {
			case ch <- struct{}{}:
			default: // one is pending: the reader will catch up on both
			}
		}
		c.mu.Unlock()
	}
}

// answerServer answers a request from the server: ping, and nothing else
// (this client offers no roots, sampling or elicitation).
func (c *Client) answerServer(m message) {
	resp := map[string]any{"jsonrpc": "2.0", "id": m.ID}
	if m.Method == "ping" {
		resp["result"] = struct{}{}
	} else {
		resp["error"] = &Error{Code: -32601, Message: "method not found: " + m.Method}
	}
	if b, err := json.Marshal(resp); err == nil {
		_ = c.write(b)
	}
}

// shutdown marks the client closed, fails every pending call and closes
// every subscription.
func (c *Client) shutdown() {
	c.conn.Close()
	c.mu.Lock()
	c.closed = true
	for id, ch := range c.pending {
		ch <- reply{err: ErrClosed}
		delete(c.pending, id)
	}
	for uri, chs := range c.subs {
		for _, ch := range chs {
			close(ch)
		}
		delete(c.subs, uri)
	}
	c.acks = map[int64]chan struct{}{}
	c.mu.Unlock()
	close(c.done)
}
