package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/core/state"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/handlers"
	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tools"
)

type echoIn struct {
	Word string `json:"word" arg:"" help:"What to echo."`
}
type echoOut struct {
	Echo string `json:"echo"`
}

// A tool is a contract (what the CLI links) and a handler bound to it (what
// the daemon runs): these two are all a new tool needs.
var (
	throwaway = &tool.Def[echoIn, echoOut]{
		Name: "test_echo", CLI: "echo-back", Title: "Echo", Summary: "Echo a word back.", Effect: tool.ReadOnly}
	throwawayHandler = handlers.Bind(throwaway, func(ctx context.Context, d *handlers.Deps, in echoIn) (echoOut, error) {
		return echoOut{Echo: in.Word}, nil
	})
	nested = &tool.Def[echoIn, echoOut]{
		Name: "test_debug_echo", CLI: "debug echo", Title: "Echo", Summary: "Echo a word back, nested.", Effect: tool.ReadOnly}
	nestedHandler = handlers.Bind(nested, func(ctx context.Context, d *handlers.Deps, in echoIn) (echoOut, error) {
		return echoOut{Echo: "nested " + in.Word}, nil
	})
)

// TestNewToolAppearsEverywhere adds a tool to a copy of the registry — a
// contract and the handler bound to it — and sees it as an MCP tool and as
// a CLI command (help, and a call through the CLI's own client to a server
// on a real unix socket), with no other code.
func TestNewToolAppearsEverywhere(t *testing.T) {
	entries := append(append([]tool.Entry{}, tools.All...), throwaway, nested)
	home, cs := serve(t, append(append([]handlers.Handler{}, handlers.All...), throwawayHandler, nestedHandler))
	lt, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tl := range lt.Tools {
		found = found || tl.Name == "test_echo"
	}
	if !found {
		t.Fatal("test_echo is not an MCP tool")
	}

	var out, errb bytes.Buffer
	var cli CLI
	parser, err := newParser(&cli, entries, &client{home: home}, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() { recover() }() // --help asks kong to exit
		parser.Parse([]string{"--help"})
	}()
	if !strings.Contains(out.String(), "echo-back") || !strings.Contains(out.String(), "Echo a word back.") {
		t.Fatalf("help lacks the new command:\n%s", out.String())
	}
	out.Reset()
	kctx, err := parser.Parse([]string{"echo-back", "hello", "--ai"})
	if err != nil {
		t.Fatal(err)
	}
	if err := kctx.Run(&cli.Globals, &tool.Term{Out: &out, Err: &errb}); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != `{"echo":"hello"}` {
		t.Fatalf("CLI call printed %q", out.String())
	}
}

// serve serves a registry's handlers on the socket of a fresh home, as
// velosd does (without resources and prompts), and returns the home with
// an SDK client session on it.
func serve(t *testing.T, entries []handlers.Handler) (daemon.Home, *mcp.ClientSession) {
	t.Helper()
	dir, err := os.MkdirTemp("", "vh") // short: a socket path has at most 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	home := daemon.Home{Dir: dir}
	procs := supervisor.NewManager(supervisor.Options{})
	srv := mcp.NewServer(&mcp.Implementation{Name: "velos-test"}, nil)
	d := &handlers.Deps{Procs: procs, Home: dir, Specs: state.NewTable()}
	for _, h := range entries {
		if err := h.Register(srv, d); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("unix", home.Socket())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
		os.RemoveAll(dir)
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if ss, err := srv.Connect(ctx, &mcp.IOTransport{Reader: c, Writer: c}, nil); err == nil {
					_ = ss.Wait()
				}
			}()
		}
	}()
	conn, err := net.Dial("unix", home.Socket())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t"}, nil).Connect(ctx, &mcp.IOTransport{Reader: conn, Writer: conn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return home, cs
}

func TestNestedCommand(t *testing.T) {
	entries := append(append([]tool.Entry{}, tools.All...), nested)
	home, _ := serve(t, append(append([]handlers.Handler{}, handlers.All...), nestedHandler))
	var out, errb bytes.Buffer
	var cli CLI
	parser, err := newParser(&cli, entries, &client{home: home}, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := parser.Parse([]string{"debug", "echo", "hi", "--json"})
	if err != nil {
		t.Fatal(err)
	}
	if err := kctx.Run(&cli.Globals, &tool.Term{Out: &out, Err: &errb}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"echo": "nested hi"`) {
		t.Fatalf("nested command printed %q", out.String())
	}
}
