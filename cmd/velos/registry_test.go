package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

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

// TestNewToolAppearsEverywhere adds a tool to a copy of the registry and sees
// it as a CLI command (help and a call) and as an MCP tool, with no other code.
func TestNewToolAppearsEverywhere(t *testing.T) {
	entries := append(append([]tool.Entry{}, tools.All...), throwaway, nested)
	cs := inMemory(t, append(append([]handlers.Handler{}, handlers.All...), throwawayHandler, nestedHandler))
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
	parser, err := newParser(&cli, entries, &memCaller{cs}, &out, &errb)
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

// inMemory serves a registry on an in-memory MCP transport and connects to it.
func inMemory(t *testing.T, entries []handlers.Handler) *mcp.ClientSession {
	t.Helper()
	procs := supervisor.NewManager(supervisor.Options{})
	// The daemon's server (cmd/velosd) adds resources and prompts to this.
	srv := mcp.NewServer(&mcp.Implementation{Name: "velos-test"}, nil)
	d := &handlers.Deps{Procs: procs, Home: t.TempDir(), Specs: state.NewTable()}
	for _, h := range entries {
		if err := h.Register(srv, d); err != nil {
			t.Fatal(err)
		}
	}
	st, ct := mcp.NewInMemoryTransports()
	if _, err := srv.Connect(context.Background(), st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

type memCaller struct{ cs *mcp.ClientSession }

func (m *memCaller) Call(ctx context.Context, t tool.Info, args any) (json.RawMessage, error) {
	res, err := m.cs.CallTool(ctx, &mcp.CallToolParams{Name: t.Name, Arguments: args})
	if err != nil {
		return nil, err
	}
	if res.IsError {
		return nil, &tool.Error{Tool: t.Name, Msg: textOf(res)}
	}
	return json.Marshal(res.StructuredContent)
}

func TestNestedCommand(t *testing.T) {
	entries := append(append([]tool.Entry{}, tools.All...), nested)
	cs := inMemory(t, append(append([]handlers.Handler{}, handlers.All...), nestedHandler))
	var out, errb bytes.Buffer
	var cli CLI
	parser, err := newParser(&cli, entries, &memCaller{cs}, &out, &errb)
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
