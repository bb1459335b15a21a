package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/tool"
)

// Open implements [tool.Opener]: one MCP session on the daemon socket kept
// for a whole streaming command (velos logs -f), with resources/updated
// notifications turned into channel signals.
func (c *client) Open(ctx context.Context, t tool.Info) (tool.Session, error) {
	s := &session{subs: map[string]chan struct{}{}}
	cl := mcp.NewClient(&mcp.Implementation{Name: "velos-cli", Version: version}, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
			s.signal(req.Params.URI)
		},
	})
	var conn net.Conn
	var cs *mcp.ClientSession
	// Twice at most: a daemon killed a moment ago can still accept a
	// connection while it dies; the second try finds it gone and starts one.
	for try := 0; ; try++ {
		var err error
		conn, err = daemon.Dial(c.home, !t.NoAutostart, c.exe)
		if t.NoAutostart && errors.Is(err, daemon.ErrNotRunning) {
			return nil, errNothingToDo
		}
		if err != nil {
			return nil, err
		}
		cs, err = cl.Connect(ctx, &mcp.IOTransport{Reader: conn, Writer: conn}, nil)
		if err == nil {
			break
		}
		conn.Close()
		if try == 1 || ctx.Err() != nil {
			return nil, fmt.Errorf("%w: connect: %v", errDaemon, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.cs = cs
	s.done = make(chan struct{})
	go func() {
		// The daemon went away (velos kill) or Close was called: end
		// every subscription so a follower does not wait forever.
		_ = cs.Wait()
		conn.Close()
		s.closeAll()
		close(s.done)
	}()
	return s, nil
}

// session is a [tool.Session] on one daemon connection.
type session struct {
	cs   *mcp.ClientSession
	done chan struct{} // closed once the connection is gone

	mu     sync.Mutex
	subs   map[string]chan struct{} // uri → signal (capacity 1: signals merge)
	closed bool
}

func (s *session) Call(ctx context.Context, t tool.Info, args any) (json.RawMessage, error) {
	params := &mcp.CallToolParams{Name: t.Name, Arguments: args}
	if tool.Verbatim(ctx) { // human and --json output: no redaction (tool/redact.go)
		params.Meta = mcp.Meta{tool.MetaVerbatim: true}
	}
	res, err := s.cs.CallTool(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errDaemon, t.Name, err)
	}
	if res.IsError {
		return nil, &tool.Error{Tool: t.Name, Msg: textOf(res)}
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return nil, fmt.Errorf("%s: result: %w", t.Name, err)
	}
	return raw, nil
}

func (s *session) Subscribe(ctx context.Context, uri string) (<-chan struct{}, error) {
	s.mu.Lock()
	ch, ok := s.subs[uri]
	if !ok {
		ch = make(chan struct{}, 1)
		if s.closed {
			close(ch)
		} else {
			s.subs[uri] = ch
		}
	}
	s.mu.Unlock()
	if ok {
		return ch, nil
	}
	if err := s.cs.Subscribe(ctx, &mcp.SubscribeParams{URI: uri}); err != nil {
		s.mu.Lock()
		if s.subs[uri] == ch {
			delete(s.subs, uri)
		}
		s.mu.Unlock()
		// A refused URI (unknown process) is the daemon's answer, not a
		// broken connection. (Under protocol 2026-07-28 a refusal is not
		// reported here at all: the caller's first tool call finds it.)
		var rpcErr *jsonrpc.Error
		if errors.As(err, &rpcErr) {
			return nil, &tool.Error{Msg: fmt.Sprintf("subscribe %s: %s", uri, rpcErr.Message)}
		}
		return nil, fmt.Errorf("%w: subscribe %s: %v", errDaemon, uri, err)
	}
	return ch, nil
}

func (s *session) signal(uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.subs[uri]; ok {
		select {
		case ch <- struct{}{}:
		default: // one is already pending: the reader will catch up on both
		}
	}
}

func (s *session) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for uri, ch := range s.subs {
		close(ch)
		delete(s.subs, uri)
	}
}

func (s *session) Close() error {
	err := s.cs.Close()
	<-s.done
	return err
}
