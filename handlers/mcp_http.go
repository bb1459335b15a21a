package handlers

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/velos-pm/velos/tools"
)

// MCPHTTP answers mcp_http_serve.
var MCPHTTP = Bind(tools.MCPHTTP, func(ctx context.Context, d *Deps, in tools.MCPHTTPIn) (tools.MCPHTTPOut, error) {
	if d.MCPHTTP == nil {
		return tools.MCPHTTPOut{}, fmt.Errorf("mcp http: this daemon cannot serve HTTP")
	}
	if in.Address == "" {
		in.Address = "127.0.0.1:8765"
	}
	url, already, err := d.MCPHTTP.Serve(in.Address, in.AllowRemote)
	if err != nil {
		return tools.MCPHTTPOut{}, fmt.Errorf("mcp http: %w", err)
	}
	return tools.MCPHTTPOut{URL: url, TokenFile: filepath.Join(d.Home, tools.HTTPTokenFile),
		ReadOnlyTokenFile: filepath.Join(d.Home, tools.HTTPReadOnlyTokenFile), Already: already}, nil
})
