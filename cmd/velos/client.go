package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/tool"
)

var errDaemon = errors.New("daemon")

// errNothingToDo: a tool that must not start a daemon found none running.
var errNothingToDo = errors.New("daemon not running")

// client is the CLI's [tool.Caller]: one MCP session on the daemon socket per
// command, starting the daemon first when needed.
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

func textOf(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}
