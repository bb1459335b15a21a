package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	schemafiles "github.com/velos-pm/velos/schemas"
	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tool/schema"
	"github.com/velos-pm/velos/tools"
)

// TestEveryContractAnswered: the tools the CLI knows (tools.All) and the
// tools velosd serves (All) are the same, in the same order — no contract
// without a handler, no handler without a contract, none bound twice.
func TestEveryContractAnswered(t *testing.T) {
	served := map[tool.Entry]int{}
	for i, h := range All {
		if j, dup := served[h.Tool()]; dup {
			t.Errorf("%s is answered twice (All[%d] and All[%d])", h.Tool().Info().Name, j, i)
		}
		served[h.Tool()] = i
	}
	for i, e := range tools.All {
		j, ok := served[e]
		switch {
		case !ok:
			t.Errorf("%s (tools.All[%d]) has no handler in handlers.All: bind one with Bind in handlers/", e.Info().Name, i)
		case j != i:
			t.Errorf("%s is tools.All[%d] but handlers.All[%d]: keep the lists in the same order", e.Info().Name, i, j)
		}
		delete(served, e)
	}
	for e := range served {
		t.Errorf("handler for %s answers a contract that is not in tools.All", e.Info().Name)
	}
}

func TestAnnotationsFollowEffect(t *testing.T) {
	for _, c := range []struct {
		e                     tool.Effect
		readOnly, destructive bool
	}{{tool.ReadOnly, true, false}, {tool.Mutating, false, false}, {tool.Destructive, false, true}} {
		a := Annotations(tool.Info{Effect: c.e})
		if a.ReadOnlyHint != c.readOnly || (a.DestructiveHint != nil && *a.DestructiveHint != c.destructive) || *a.OpenWorldHint {
			t.Errorf("%s: %+v", c.e, a)
		}
	}
	if (tool.Effect(0)).String() != "unset" {
		t.Error("the zero effect must read as unset")
	}
}

type echoIn struct {
	Target string `json:"target" help:"What to echo."`
}

type echoOut struct {
	Echo string `json:"echo"`
}

var echo = Bind(&tool.Def[echoIn, echoOut]{Name: "sample_echo", CLI: "echo", Title: "Echo", Summary: "Echo.", Effect: tool.Mutating},
	func(ctx context.Context, d *Deps, in echoIn) (echoOut, error) { return echoOut{Echo: in.Target}, nil })

// The title is for people: tools/list leaves it out, annotations too.
func TestNoTitleInToolsList(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "t"}, nil)
	if err := echo.Register(srv, &Deps{}); err != nil {
		t.Fatal(err)
	}
	st, ct := mcp.NewInMemoryTransports()
	if _, err := srv.Connect(context.Background(), st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	if strings.Contains(string(b), `"title"`) || !strings.Contains(string(b), `"description":"Echo."`) {
		t.Errorf("tools/list: %s", b)
	}
}

// TestEmbeddedSchemasMatchTheTypes: the daemon registers each tool with the
// schemas of schemas/ (no reflection at start), so they must be what the
// types give today; make generate rewrites them.
func TestEmbeddedSchemasMatchTheTypes(t *testing.T) {
	for _, h := range All {
		e := h.Tool()
		name := e.Info().Name
		in, out, ok, err := schemafiles.Tool(name)
		if err != nil || !ok {
			t.Errorf("%s: no usable schemas/%s.json (%v): run make generate", name, name, err)
			continue
		}
		wantIn, err := schema.Input(e)
		if err != nil {
			t.Fatal(err)
		}
		wantOut, err := schema.Output(e)
		if err != nil {
			t.Fatal(err)
		}
		for which, c := range map[string]struct {
			got  json.RawMessage
			want any
		}{"input": {in, wantIn}, "output": {out, wantOut}} {
			w, _ := json.Marshal(c.want)
			if !bytes.Equal(c.got, w) {
				t.Errorf("%s: schemas/%s.json %s schema is stale: run make generate", name, name, which)
			}
		}
	}
	if _, _, ok, _ := schemafiles.Tool("no_such_tool"); ok {
		t.Error("a tool without a file has schemas")
	}
}

type probeIn struct {
	Target string `json:"target" arg:"" help:"t."`
	Lines  int    `json:"lines,omitempty" default:"15" help:"n."`
	Stream string `json:"stream,omitempty" enum:"out,err,both" default:"both" help:"s."`
}

type probeOut struct {
	Target string   `json:"target"`
	Lines  int      `json:"lines"`
	Stream string   `json:"stream"`
	Items  []string `json:"items"`
}

var probe = &tool.Def[probeIn, probeOut]{Name: "probe_echo", CLI: "probe", Title: "Probe", Summary: "Echo.", Effect: tool.ReadOnly}

// TestArgumentsAsTheSDKChecksThem: a tool's arguments get the schema's
// defaults, are validated against it (a bad enum is the model's error to
// act on), and an argument the schema does not name is refused; the answer
// carries the output as structured content (a nil list as []) and its --ai
// form as text.
func TestArgumentsAsTheSDKChecksThem(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "t"}, nil)
	h := Bind(probe, func(ctx context.Context, d *Deps, in probeIn) (probeOut, error) {
		return probeOut{Target: in.Target, Lines: in.Lines, Stream: in.Stream}, nil
	})
	if err := h.Register(srv, &Deps{}); err != nil {
		t.Fatal(err)
	}
	st, ct := mcp.NewInMemoryTransports()
	if _, err := srv.Connect(context.Background(), st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	call := func(args map[string]any) *mcp.CallToolResult {
		t.Helper()
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "probe_echo", Arguments: args})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	text := func(r *mcp.CallToolResult) string { return r.Content[0].(*mcp.TextContent).Text }

	res := call(map[string]any{"target": "api"})
	b, _ := json.Marshal(res.StructuredContent)
	if res.IsError || string(b) != `{"items":[],"lines":15,"stream":"both","target":"api"}` || !strings.Contains(text(res), `"lines":15`) {
		t.Fatalf("defaults: %s %s", b, text(res))
	}
	if r := call(map[string]any{"target": "api", "stream": "bogus"}); !r.IsError || !strings.Contains(text(r), `validating "arguments"`) {
		t.Fatalf("bad enum: %+v", r)
	}
	if r := call(map[string]any{"lines": 3}); !r.IsError || !strings.Contains(text(r), "target") {
		t.Fatalf("missing required: %s", text(r))
	}
	if r := call(map[string]any{"target": "api", "Lines": 3}); !r.IsError || !strings.Contains(text(r), `unknown argument "Lines"`) {
		t.Fatalf("unknown argument: %s", text(r))
	}
}

// TestOutputsFitTheirSchemas: the daemon does not validate answers against
// the output schema at run time (they are Go values of the types the
// schemas come from); this holds every tool's zero answer to its output
// schema, as clients that validate (the TypeScript SDK does) will, and to
// its whole result schema (schemas/<tool>.json).
func TestOutputsFitTheirSchemas(t *testing.T) {
	for _, h := range All {
		e := h.Tool()
		b, _ := json.Marshal(reflect.New(e.OutType()).Elem().Interface())
		var v any
		json.Unmarshal(b, &v)
		for which, get := range map[string]func(tool.Entry) (*jsonschema.Schema, error){"output": schema.Output, "result": schema.Result} {
			s, err := get(e)
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.Resolve(nil)
			if err != nil {
				t.Fatalf("%s: %v", e.Info().Name, err)
			}
			if err := r.Validate(v); err != nil {
				t.Errorf("%s: a zero answer does not fit the %s schema: %v", e.Info().Name, which, err)
			}
		}
	}
}

// A handler that panics fails its call; the server (the daemon, with every
// process it supervises) goes on answering.
func TestPanicFailsTheCallOnly(t *testing.T) {
	boom := Bind(&tool.Def[echoIn, echoOut]{Name: "sample_boom", CLI: "boom", Summary: "Boom.", Effect: tool.ReadOnly},
		func(context.Context, *Deps, echoIn) (echoOut, error) { panic("boom") })
	srv := mcp.NewServer(&mcp.Implementation{Name: "t"}, nil)
	for _, h := range []Handler{boom, echo} {
		if err := h.Register(srv, &Deps{Log: slog.New(slog.DiscardHandler)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	if _, err := srv.Connect(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "sample_boom", Arguments: map[string]any{"target": "x"}})
	if err != nil || !res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "internal error") {
		t.Fatalf("panicking tool: %v %+v", err, res)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "sample_echo", Arguments: map[string]any{"target": "x"}})
	if err != nil || res.IsError {
		t.Fatalf("after a panic: %v %+v", err, res)
	}
}
