package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/internal/mcpclient"
	"github.com/velos-pm/velos/tool"
)

// Open implements [tool.Opener]: one connection to the daemon socket kept
// for a whole command (velos logs -f, velos monit), with
// resources/updated notifications turned into channel signals.
func (c *client) Open(ctx context.Context, t tool.Info) (tool.Session, error) {
	s := &session{c: c, t: t}
	if err := s.dial(); err != nil {
		return nil, err
	}
	return s, nil
}

// session is a [tool.Session] on one daemon connection.
type session struct {
	c *client
	t tool.Info

	mu sync.Mutex
	mc *mcpclient.Client
	// answered: the daemon has answered on this connection, so it is
	// serving, not on its way out.
	answered bool
}

func (s *session) dial() error {
	conn, err := daemon.Dial(s.c.home, !s.t.NoAutostart, s.c.exe)
	if s.t.NoAutostart && errors.Is(err, daemon.ErrNotRunning) {
		return errNothingToDo
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.mc = mcpclient.New(conn, "velos-cli", version)
	s.mu.Unlock()
	return nil
}

// do runs one request, once more on a new connection when the first ended
// before the daemon had answered anything on it: a daemon killed a moment
// ago can still accept a connection while it dies, and a second dial finds
// it gone (and starts one, for a command that may). A request that changes
// things and must not run twice (start, stop …) is sent only once the
// daemon has answered on the connection — a ping first — so that one
// delivered to a daemon that then died is reported, never sent again.
func (s *session) do(ctx context.Context, req func(*mcpclient.Client) error) error {
	once := s.t.Effect != tool.ReadOnly && !s.t.Idempotent
	for try := 0; ; try++ {
		s.mu.Lock()
		mc, fresh := s.mc, !s.answered
		s.mu.Unlock()
		var err error
		if fresh && once {
			if err = mc.Ping(ctx); err == nil {
				s.mu.Lock()
				s.answered, fresh = true, false
				s.mu.Unlock()
			}
		}
		if err == nil {
			err = req(mc)
		}
		if err == nil || !errors.Is(err, mcpclient.ErrClosed) {
			var rpcErr *mcpclient.Error
			if err == nil || errors.As(err, &rpcErr) {
				s.mu.Lock()
				s.answered = true
				s.mu.Unlock()
			}
			return err
		}
		if !fresh || try == 1 || ctx.Err() != nil {
			return fmt.Errorf("%w: %v", errDaemon, err)
		}
		mc.Close()
		if err := s.dial(); err != nil {
			return err
		}
	}
}

func (s *session) Call(ctx context.Context, t tool.Info, args any) (json.RawMessage, error) {
	var meta map[string]any
	if tool.Verbatim(ctx) { // human and --json output: no redaction (tool/redact.go)
		meta = map[string]any{tool.MetaVerbatim: true}
	}
	var res *mcpclient.Result
	err := s.do(ctx, func(mc *mcpclient.Client) (err error) {
		if fn := tool.ProgressFunc(ctx); fn != nil {
			res, err = mc.CallToolProgress(ctx, t.Name, args, meta, func(p mcpclient.Progress) { fn(p.Message) })
			return err
		}
		res, err = mc.CallTool(ctx, t.Name, args, meta)
		return err
	})
	var rpcErr *mcpclient.Error
	switch {
	case errors.As(err, &rpcErr):
		return nil, fmt.Errorf("%w: %s: %v", errDaemon, t.Name, err)
	case err != nil:
		return nil, err
	}
	return result(t, res)
}

func (s *session) Subscribe(ctx context.Context, uri string) (<-chan struct{}, error) {
	var ch <-chan struct{}
	err := s.do(ctx, func(mc *mcpclient.Client) (err error) {
		ch, err = mc.Subscribe(ctx, uri)
		return err
	})
	// A refused URI (unknown process) is the daemon's answer, not a broken
	// connection.
	var rpcErr *mcpclient.Error
	if errors.As(err, &rpcErr) {
		return nil, &tool.Error{Msg: fmt.Sprintf("subscribe %s: %s", uri, rpcErr.Message)}
	}
	return ch, err
}

// ReadResource reads the resource at uri (its text).
func (s *session) ReadResource(ctx context.Context, uri string) (string, error) {
	var text string
	err := s.do(ctx, func(mc *mcpclient.Client) (err error) {
		text, err = mc.ReadResource(ctx, uri)
		return err
	})
	var rpcErr *mcpclient.Error
	if errors.As(err, &rpcErr) {
		return "", &tool.Error{Msg: fmt.Sprintf("read %s: %s", uri, rpcErr.Message)}
	}
	return text, err
}

func (s *session) Close() error {
	s.mu.Lock()
	mc := s.mc
	s.mu.Unlock()
	err := mc.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil // the daemon ended it first (velos kill)
	}
	return err
}
