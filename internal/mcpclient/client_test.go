package mcpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The server side of every test is the MCP Go SDK (an implementation this
// package did not write) on a real unix socket, as velosd serves.

type echoIn struct {
	Word string `json:"word"`
}
type echoOut struct {
	Echo string `json:"echo"`
	Meta string `json:"meta,omitempty"`
}

// server is an SDK server with a tool, a resource and subscriptions; stop,
// when sent to, makes the next call hang until the connection ends.
type server struct {
	srv  *mcp.Server
	path string
	// accepted holds the first connection accepted.
	accepted chan *counter
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{accepted: make(chan *counter, 1)}
	s.srv = mcp.NewServer(&mcp.Implementation{Name: "test-server"}, &mcp.ServerOptions{
		SubscribeHandler: func(ctx context.Context, r *mcp.SubscribeRequest) error {
			if r.Params.URI != "test://known" {
				return &jsonrpcError{msg: "unknown resource " + r.Params.URI}
			}
			return nil
		},
		UnsubscribeHandler: func(context.Context, *mcp.UnsubscribeRequest) error { return nil },
	})
	mcp.AddTool(s.srv, &mcp.Tool{Name: "echo", Description: "Echo."},
		func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, echoOut, error) {
			switch in.Word {
			case "fail":
				return nil, echoOut{}, errors.New("echo: refused")
			case "hang":
				<-ctx.Done()
				return nil, echoOut{}, ctx.Err()
			}
			m, _ := req.Params.GetMeta()["x/test"].(string)
			return nil, echoOut{Echo: in.Word, Meta: m}, nil
		})
	s.srv.AddResource(&mcp.Resource{URI: "test://known", Name: "known"},
		func(ctx context.Context, r *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: r.Params.URI, Text: "x"}}}, nil
		})
	s.path = filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", s.path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cnt := &counter{Conn: c, first: make(chan struct{})}
			select {
			case s.accepted <- cnt:
			default: // only the first is kept
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				ss, err := s.srv.Connect(ctx, &mcp.IOTransport{Reader: cnt, Writer: c}, nil)
				if err == nil {
					_ = ss.Wait()
				}
			}()
		}
	}()
	return s
}

type jsonrpcError struct{ msg string }

func (e *jsonrpcError) Error() string { return e.msg }

// counter counts the lines read from a connection: the client's messages.
type counter struct {
	net.Conn
	mu sync.Mutex
	// methods are the JSON-RPC methods in the order they came.
	methods []string
	buf     []byte
	// first is closed when the first message has been read.
	first     chan struct{}
	firstOnce sync.Once
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.buf = append(c.buf, p[:n]...)
	for {
		i := bytes.IndexByte(c.buf, '\n')
		if i < 0 {
			break
		}
		var m struct {
			Method string `json:"method"`
		}
		_ = json.Unmarshal(c.buf[:i], &m)
		c.methods = append(c.methods, m.Method)
		c.firstOnce.Do(func() { close(c.first) })
		c.buf = c.buf[i+1:]
	}
	c.mu.Unlock()
	return n, err
}

func (c *counter) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.methods...)
}

// conn is the server's side of the first connection, once accepted.
func (s *server) conn(t *testing.T) *counter {
	t.Helper()
	select {
	case c := <-s.accepted:
		s.accepted <- c
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted")
		return nil
	}
}

func dial(t *testing.T, s *server) *Client {
	t.Helper()
	conn, err := net.Dial("unix", s.path)
	if err != nil {
		t.Fatal(err)
	}
	c := New(conn, "test-client", "1")
	t.Cleanup(func() { c.Close() })
	return c
}

// TestOneRoundTrip: a tool call is one request on a fresh connection — no
// initialize, no server/discover — and its answer carries the output.
func TestOneRoundTrip(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	res, err := c.CallTool(context.Background(), "echo", map[string]any{"word": "hi"}, map[string]any{"x/test": "m"})
	if err != nil {
		t.Fatal(err)
	}
	var out echoOut
	if err := json.Unmarshal(res.StructuredContent, &out); err != nil || out.Echo != "hi" || out.Meta != "m" || res.IsError {
		t.Fatalf("result %+v (%s): %v", res, res.StructuredContent, err)
	}
	if !strings.Contains(res.Text(), `"echo":"hi"`) {
		t.Fatalf("text content %q", res.Text())
	}
	c.Close()
	got := s.conn(t).seen()
	if len(got) != 1 || got[0] != "tools/call" {
		t.Fatalf("the client sent %v, want one tools/call", got)
	}
}

// TestToolAndProtocolErrors: a tool's failure is a result with IsError; an
// unknown tool is the server's JSON-RPC error.
func TestToolAndProtocolErrors(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	ctx := context.Background()
	res, err := c.CallTool(ctx, "echo", map[string]any{"word": "fail"}, nil)
	if err != nil || !res.IsError || !strings.Contains(res.Text(), "echo: refused") {
		t.Fatalf("tool error: %+v %v", res, err)
	}
	_, err = c.CallTool(ctx, "nosuch", map[string]any{}, nil)
	var rpcErr *Error
	if !errors.As(err, &rpcErr) || !strings.Contains(rpcErr.Message, "nosuch") {
		t.Fatalf("unknown tool: %v", err)
	}
}

// TestSubscribe: once Subscribe returns, the subscription is active: an
// update sent right then arrives. A URI the server refuses is its error.
func TestSubscribe(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	ctx := context.Background()
	ch, err := c.Subscribe(ctx, "test://known")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.srv.ResourceUpdated(ctx, &mcp.ResourceUpdatedNotificationParams{URI: "test://known"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no update after the subscription was acknowledged")
	}
	// Calls still work beside an open subscription.
	if res, err := c.CallTool(ctx, "echo", map[string]any{"word": "again"}, nil); err != nil || res.IsError {
		t.Fatalf("call beside a subscription: %+v %v", res, err)
	}
	if _, err := c.Subscribe(ctx, "test://unknown"); err == nil || !strings.Contains(err.Error(), "unknown resource test://unknown") {
		t.Fatalf("refused subscription: %v", err)
	}
	c.Close()
	if _, open := <-ch; open {
		t.Fatal("the subscription's channel is still open after Close")
	}
}

// TestServerGone: a call waiting when the connection ends gets ErrClosed,
// and so does every call after.
func TestServerGone(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	errc := make(chan error, 1)
	go func() {
		_, err := c.CallTool(context.Background(), "echo", map[string]any{"word": "hang"}, nil)
		errc <- err
	}()
	// Once the server has the request, end the connection under it, as a
	// daemon that exits would.
	conn := s.conn(t)
	<-conn.first
	conn.Conn.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("pending call: %v", err)
	}
	<-c.Done()
	if _, err := c.CallTool(context.Background(), "echo", map[string]any{"word": "x"}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after the end: %v", err)
	}
}

// TestCancel: a cancelled call returns at once with the context's error.
func TestCancel(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.CallTool(ctx, "echo", map[string]any{"word": "hang"}, nil)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	// The connection is still usable.
	if res, err := c.CallTool(context.Background(), "echo", map[string]any{"word": "ok"}, nil); err != nil || res.IsError {
		t.Fatalf("after a cancel: %+v %v", res, err)
	}
}

// TestPing: the server answers a ping (server/discover under 2026-07-28,
// which has no ping) before a call that must not be sent twice.
func TestPing(t *testing.T) {
	s := newServer(t)
	c := dial(t, s)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CallTool(context.Background(), "echo", map[string]any{"word": "hi"}, nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := s.conn(t).seen(); len(got) != 2 || got[0] != "server/discover" || got[1] != "tools/call" {
		t.Fatalf("the client sent %v", got)
	}
}
