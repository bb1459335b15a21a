package tools

import (
	"github.com/velos-pm/velos/tool"
)

// MCPHTTPIn says where to serve MCP over HTTP.
type MCPHTTPIn struct {
	Address     string `json:"address,omitempty" default:"127.0.0.1:8765" brief:"-" help:"host:port to listen on; port 0 picks a free one."`
	AllowRemote bool   `json:"allow_remote,omitempty" brief:"-" help:"Allow a non-loopback address: whoever has the token controls every process."`
}

// MCPHTTPOut is where the MCP endpoint is and how to authenticate.
type MCPHTTPOut struct {
	URL string `json:"url"`
	// TokenFile holds the bearer token clients must send
	// (Authorization: Bearer <token>); it is readable by the owner only.
	TokenFile string `json:"token_file"`
	// ReadOnlyTokenFile holds the token that gets only read-only tools.
	ReadOnlyTokenFile string `json:"read_only_token_file,omitempty"`
	Already           bool   `json:"already,omitempty"`
}

// MCPHTTP is mcp_http_serve.
var MCPHTTP = &tool.Def[MCPHTTPIn, MCPHTTPOut]{
	Name: "mcp_http_serve", CLI: "mcp http", Title: "Serve MCP over HTTP", Effect: tool.Mutating, Idempotent: true,
	Summary: "Serve MCP over HTTP too, with bearer tokens.",
}

// HTTPTokenFile is the bearer token's file name in VELOS_HOME.
const HTTPTokenFile = "http.token"

// HTTPReadOnlyTokenFile is the file name in VELOS_HOME of the bearer token
// that gets only the read-only tools.
const HTTPReadOnlyTokenFile = "http-ro.token"
