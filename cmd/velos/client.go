package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/internal/mcpclient"
	"github.com/velos-pm/velos/tool"
)

var errDaemon = errors.New("daemon")

// errNothingToDo: a tool that must not start a daemon found none running.
var errNothingToDo = errors.New("daemon not running")

// client is the CLI's [tool.Caller]: one connection to the daemon socket per
// command, starting the daemon first when needed, and one round trip per
// call (MCP 2026-07-28 needs no handshake).
type client struct {
	home daemon.Home
	exe  string
}

func (c *client) Call(ctx context.Context, t tool.Info, args any) (json.RawMessage, error) {
	s, err := c.Open(ctx, t)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Call(ctx, t, args)
}

// result turns a tools/call answer into the tool's structured output, or
// its failure into a *[tool.Error].
func result(t tool.Info, res *mcpclient.Result) (json.RawMessage, error) {
	if res.IsError {
		return nil, &tool.Error{Tool: t.Name, Msg: res.Text()}
	}
	if len(res.StructuredContent) == 0 {
		return nil, fmt.Errorf("%s: result: no structured content", t.Name)
	}
	return res.StructuredContent, nil
}
