package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/agent"
	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/tools"
)

// mcpHTTP serves the daemon's MCP server over streamable HTTP, the way
// agents that cannot spawn a stdio bridge reach Velos. Every request needs
// a bearer token: the one in $VELOS_HOME/http.token gets every tool, the
// one in http-ro.token only the read-only ones (both as an agent: [agent]
// allow_start applies). Each token has its own handler, so a session made
// with one token cannot be used with the other. Cross-origin browser
// requests are refused, and the SDK refuses non-loopback Host headers on
// loopback (DNS rebinding).
type mcpHTTP struct {
	ctx  context.Context // the daemon's: the listener closes with it
	home daemon.Home
	log  *slog.Logger
	srvs *servers // set before the daemon serves calls

	mu   sync.Mutex
	url  string
	addr string // the address bound, for an update to serve again
}

// served is the address MCP is served on over HTTP, "" when it is not.
func (h *mcpHTTP) served() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addr
}

func (h *mcpHTTP) Serve(addr string, allowRemote bool) (string, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.url != "" {
		return h.url, true, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false, fmt.Errorf("address %q: want host:port, e.g. 127.0.0.1:8765", addr)
	}
	if ip := net.ParseIP(host); !allowRemote && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", false, fmt.Errorf("%s is not a loopback address; add --allow-remote to serve MCP off this host", host)
	}
	token, err := httpToken(h.home, tools.HTTPTokenFile)
	if err != nil {
		return "", false, err
	}
	roToken, err := httpToken(h.home, tools.HTTPReadOnlyTokenFile)
	if err != nil {
		return "", false, err
	}
	full, err := h.srvs.forAgent(agent.Limits{})
	if err != nil {
		return "", false, err
	}
	ro, err := h.srvs.forAgent(agent.Limits{ReadOnly: true})
	if err != nil {
		return "", false, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", false, fmt.Errorf("listen on %s: %w", addr, err)
	}
	handler := func(srv *mcp.Server) http.Handler {
		return http.NewCrossOriginProtection().Handler(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
			&mcp.StreamableHTTPOptions{SessionTimeout: 30 * time.Minute}))
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", requireToken(map[string]http.Handler{token: handler(full), roToken: handler(ro)}))
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("mcp http", "err", err)
		}
	}()
	go func() {
		<-h.ctx.Done()
		server.Close()
	}()
	h.addr = ln.Addr().String()
	h.url = "http://" + h.addr + "/mcp"
	h.log.Info("mcp http", "url", h.url)
	return h.url, false, nil
}

// httpToken reads the home's token in file, making one (256 random bits,
// 0600) the first time.
func httpToken(h daemon.Home, file string) (string, error) {
	path := filepath.Join(h.Dir, file)
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("make token: %w", err)
	}
	token := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return token, nil
}

// requireToken passes a request to the handler of its bearer token.
func requireToken(byToken map[string]http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		var next http.Handler
		for token, h := range byToken {
			if subtle.ConstantTimeCompare(got, []byte("Bearer "+token)) == 1 {
				next = h
			}
		}
		if next == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="velos"`)
			http.Error(w, "velos: missing or wrong bearer token (see $VELOS_HOME/http.token, or http-ro.token for read-only)", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
