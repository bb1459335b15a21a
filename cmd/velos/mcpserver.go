package main

import (
	"io"
	"net"
	"os"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tools"
)

type mcpServerCmd struct {
	HTTP        string `name:"http" placeholder:"HOST:PORT" help:"Instead of stdio, have the daemon serve MCP over streamable HTTP here (bearer token in $VELOS_HOME/http.token)."`
	AllowRemote bool   `help:"With --http: allow a non-loopback address."`
}

// Run pipes stdio to the daemon socket. Both sides speak newline-delimited
// JSON-RPC, so the bridge is bytes only: every tool, resource and protocol
// revision the daemon serves reaches the client unchanged. With --http it
// asks the daemon to serve HTTP instead (the mcp_http_serve tool).
func (c mcpServerCmd) Run(home daemon.Home, g *tool.Globals, t *tool.Term, cl *client) error {
	if c.HTTP != "" {
		return tools.MCPHTTP.RunCLI(cl, tools.MCPHTTPIn{Address: c.HTTP, AllowRemote: c.AllowRemote}, g, t)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	conn, err := daemon.Dial(home, true, exe)
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(os.Stdout, conn)
		close(done)
	}()
	_, _ = io.Copy(conn, os.Stdin)
	if uc, ok := conn.(*net.UnixConn); ok {
		_ = uc.CloseWrite()
	}
	<-done
	return nil
}
