package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	conn, err := daemon.Dial(c.home, !t.NoAutostart, c.exe)
	if t.NoAutostart && errors.Is(err, daemon.ErrNotRunning) {
		return nil, errNothingToDo
	}
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "velos-cli", Version: version}, nil).
		Connect(ctx, &mcp.IOTransport{Reader: conn, Writer: conn}, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: connect: %v", errDaemon, err)
	}
	defer cs.Close()
	params := &mcp.CallToolParams{Name: t.Name, Arguments: args}
	if tool.Verbatim(ctx) { // human and --json output: no redaction (tool/redact.go)
		params.Meta = mcp.Meta{tool.MetaVerbatim: true}
	}
	res, err := cs.CallTool(ctx, params)
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

func textOf(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}
