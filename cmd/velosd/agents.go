package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/agent"
	"github.com/velos-pm/velos/handlers"
	"github.com/velos-pm/velos/tool"
)

// servers makes the MCP servers the daemon serves and keeps them: the full
// one for the CLI's own connections, and one per distinct [agent.Limits]
// for agents (velos mcp-server, the HTTP endpoint), which lists and serves
// only the tools the limits allow and runs only the programs the config
// file's [agent] allow_start allows. Limiting in the daemon, not in the
// bridge, means a client cannot talk its way past the bridge.
type servers struct {
	entries []handlers.Handler
	deps    *handlers.Deps
	config  *agent.Source
	// extra registers what every server has besides the tools (resources,
	// prompts, events) and sets its options.
	extra func(d *handlers.Deps) (*mcp.ServerOptions, func(*mcp.Server))

	mu     sync.Mutex
	full   *mcp.Server
	agents map[string]*mcp.Server
}

// newServers reads $VELOS_HOME/config.toml (a bad file stops the daemon
// with the error naming file:line) and makes the full server.
func newServers(home string, entries []handlers.Handler, d *handlers.Deps,
	extra func(d *handlers.Deps) (*mcp.ServerOptions, func(*mcp.Server))) (*servers, error) {
	src, err := agent.NewSource(filepath.Join(home, agent.ConfigFile))
	if err != nil {
		return nil, err
	}
	s := &servers{entries: entries, deps: d, config: src, extra: extra, agents: map[string]*mcp.Server{}}
	if s.full, err = s.make(d, s.entries, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// names is every tool's name.
func (s *servers) names() []string {
	var out []string
	for _, e := range s.entries {
		out = append(out, e.Tool().Info().Name)
	}
	return out
}

// forAgent is the server for an agent's connection with limits l.
func (s *servers) forAgent(l agent.Limits) (*mcp.Server, error) {
	if err := l.Check(s.names()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if srv := s.agents[l.Key()]; srv != nil {
		return srv, nil
	}
	d := *s.deps
	d.AllowStart = func(command []string, cwd string) error {
		cfg, err := s.config.Current()
		if err != nil {
			return fmt.Errorf("the daemon's config file is bad, so agents may start nothing until it is fixed: %w", err)
		}
		return cfg.CheckStart(command, cwd)
	}
	var allowed []handlers.Handler
	refused := map[string]string{}
	for _, e := range s.entries {
		i := e.Tool().Info()
		if why := l.Refusal(i.Name, i.Effect == tool.ReadOnly); why != "" {
			refused[i.Name] = why
			continue
		}
		allowed = append(allowed, e)
	}
	srv, err := s.make(&d, allowed, refused)
	if err != nil {
		return nil, err
	}
	s.agents[l.Key()] = srv
	return srv, nil
}

// make is a server of entries whose handlers use d; a call of a tool in
// refused is answered with its reason (the tool is not listed).
func (s *servers) make(d *handlers.Deps, entries []handlers.Handler, refused map[string]string) (*mcp.Server, error) {
	opts, register := s.extra(d)
	srv := mcp.NewServer(&mcp.Implementation{Name: "velos", Version: version}, opts)
	for _, e := range entries {
		if err := e.Register(srv, d); err != nil {
			return nil, err
		}
	}
	register(srv)
	if len(refused) > 0 {
		srv.AddReceivingMiddleware(refuse(refused))
	}
	return srv, nil
}

// refuse answers a call of a refused tool with a tool error that says what
// was refused and why, instead of the SDK's bare "unknown tool".
func refuse(refused map[string]string) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if r, ok := req.(*mcp.CallToolRequest); ok && r.Params != nil {
				if why, ok := refused[r.Params.Name]; ok {
					var res mcp.CallToolResult
					res.SetError(fmt.Errorf("%s refused: %s", r.Params.Name, why))
					return &res, nil
				}
			}
			return next(ctx, method, req)
		}
	}
}

// connServer reads the first line of a daemon connection: an agent's hello
// gets the server of its limits, anything else (the CLI) the full server.
// It returns the reader of the rest of the connection.
func (s *servers) connServer(c io.ReadWriter) (*mcp.Server, io.Reader, error) {
	l, rest, err := agent.ReadHello(c)
	if err != nil {
		return nil, nil, err
	}
	if l == nil {
		return s.full, rest, nil
	}
	srv, err := s.forAgent(*l)
	if err != nil {
		// Tell the client why before closing: a JSON-RPC error with no id.
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": nil,
			"error": map[string]any{"code": -32602, "message": "velos: " + err.Error()}})
		_, _ = c.Write(append(b, '\n'))
		return nil, nil, err
	}
	return srv, rest, nil
}
