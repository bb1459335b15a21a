package main

import (
	"fmt"
	"net"
	"os"

	"github.com/velos-pm/velos/core/agent"
	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tools"
)

type mcpServerCmd struct {
	HTTP        string   `name:"http" placeholder:"HOST:PORT" help:"Instead of stdio, have the daemon serve MCP over streamable HTTP here (bearer token in $VELOS_HOME/http.token)."`
	AllowRemote bool     `help:"With --http: allow a non-loopback address."`
	ReadOnly    bool     `name:"read-only" help:"List and allow only the tools that change nothing (enforced by the daemon)."`
	AllowTools  []string `name:"allow-tools" sep:"," placeholder:"TOOL,…" help:"List and allow only these tools."`
	DenyTools   []string `name:"deny-tools" sep:"," placeholder:"TOOL,…" help:"Neither list nor allow these tools."`
}

// Run pipes stdio to the daemon socket. Both sides speak newline-delimited
// JSON-RPC, so the bridge is bytes only: every tool, resource and protocol
// revision the daemon serves reaches the client unchanged. With --http it
// asks the daemon to serve HTTP instead (the mcp_http_serve tool).
func (c mcpServerCmd) Run(home daemon.Home, g *tool.Globals, t *tool.Term, cl *client) error {
	limits := agent.Limits{ReadOnly: c.ReadOnly, Allow: c.AllowTools, Deny: c.DenyTools}
	if c.HTTP != "" {
		if c.ReadOnly || len(c.AllowTools) > 0 || len(c.DenyTools) > 0 {
			return usage(t, fmt.Errorf("mcp-server --http: --read-only, --allow-tools and --deny-tools limit the stdio bridge; over HTTP, give a read-only agent the token in $VELOS_HOME/%s", tools.HTTPReadOnlyTokenFile))
		}
		return tools.MCPHTTP.RunCLI(cl, tools.MCPHTTPIn{Address: c.HTTP, AllowRemote: c.AllowRemote}, g, t)
	}
	var names []string
	for _, e := range tools.All {
		names = append(names, e.Info().Name)
	}
	if err := limits.Check(names); err != nil {
		return usage(t, fmt.Errorf("mcp-server: %w", err))
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	// The first line of each connection says this is an agent's and how
	// it is limited; the daemon serves it accordingly. The bridge (see
	// bridge.go) connects again when the daemon is re-executed or replaced.
	dial := func() (net.Conn, error) {
		conn, err := daemon.Dial(home, true, exe)
		if err != nil {
			return nil, err
		}
		if err := agent.WriteHello(conn, limits); err != nil {
			conn.Close()
			return nil, fmt.Errorf("mcp-server: %w", err)
		}
		return conn, nil
	}
	return runBridge(dial, os.Stdin, os.Stdout)
}

// usage reports a wrong command line: the reason on stderr, exit 2.
func usage(t *tool.Term, err error) error {
	fmt.Fprintln(t.Err, "velos:", err)
	return exitCode(exitUsage)
}
