// Package handlers answers every Velos operation in the daemon: for each
// contract in tools/ (what the CLI links), the code that runs it against the
// supervisor, the log store, the sampler and the rest of core/, bound to the
// contract with [Bind]. The files here have the names of the contract files
// in tools/. [All] is what velosd serves over MCP; a test holds it to
// tools.All, so no contract lacks a handler and no handler lacks a contract.
package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/events"
	"github.com/velos-pm/velos/core/logs"
	"github.com/velos-pm/velos/core/metrics"
	"github.com/velos-pm/velos/core/schedule"
	"github.com/velos-pm/velos/core/state"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/render"
	schemafiles "github.com/velos-pm/velos/schemas"
	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tool/schema"
	"github.com/velos-pm/velos/tools"
)

// Deps is what a tool handler may use. The daemon builds one; tests build
// their own around a temp VELOS_HOME.
type Deps struct {
	Home    string // VELOS_HOME
	Procs   *supervisor.Manager
	Logs    *logs.Store      // every process's stdout and stderr
	Metrics *metrics.Sampler // CPU and memory per process tree; nil in tests that do not sample
	// Specs records how each process was asked for (config form, profile,
	// folder): what save writes and config_get/config_set work on.
	Specs *state.Table
	// Cron runs cron_restart schedules; nil where nothing schedules (tests,
	// the CLI's own process).
	Cron *schedule.Scheduler
	Log  *slog.Logger
	// Shutdown asks the daemon to stop after the current call has answered.
	Shutdown func()
	// Update checks the velosd binary on disk and asks the daemon to
	// re-execute it once the current call has answered (daemon_update); nil
	// where it cannot.
	Update func(ctx context.Context) (tools.UpdateOut, error)
	// Version of the daemon answering.
	Version string
	// Endpoint is the daemon's Prometheus /metrics server (metrics_serve);
	// nil where metrics cannot be served.
	Endpoint *metrics.Endpoint
	// MCPHTTP serves the daemon's MCP server over streamable HTTP
	// (mcp_http_serve); nil where it cannot.
	MCPHTTP HTTPServer
	// Trace, when set, is called as each MCP tool call begins; the call runs
	// with the context it returns and reports its error to end. The daemon
	// sets it only when OpenTelemetry is configured.
	Trace func(ctx context.Context, tool string) (_ context.Context, end func(error))
	// AllowStart, when set, is asked before a program is run on this
	// connection's behalf (start, reload, config_set, resurrect): the
	// daemon sets it on the servers it makes for agents ([agent] allow_start
	// in $VELOS_HOME/config.toml); the CLI's connection has none.
	AllowStart func(command []string, cwd string) error
	// Events is the daemon's event backlog (velos://events); nil where
	// nothing keeps one. The supervisor's lifecycle events reach it from
	// the daemon; handlers add config changes ([Deps.configChanged]).
	Events *events.Log
}

// configChanged records that name's configuration changed, and how.
func (d *Deps) configChanged(name, detail string) {
	if d.Events != nil {
		d.Events.Add(events.Event{Kind: events.Config, Name: name, ID: -1, Detail: detail})
	}
}

// mayStart reports whether every spec may run on this connection's behalf.
func (d *Deps) mayStart(specs ...supervisor.Spec) error {
	if d.AllowStart == nil {
		return nil
	}
	for _, s := range specs {
		if err := d.AllowStart(s.Command, s.Cwd); err != nil {
			return fmt.Errorf("start %s refused: %w", s.Name, err)
		}
	}
	return nil
}

// HTTPServer starts serving MCP over streamable HTTP on addr, or reports
// where it already serves (one endpoint per daemon).
type HTTPServer interface {
	Serve(addr string, allowRemote bool) (url string, already bool, err error)
}

// Handler is one operation's contract bound to the code that answers it.
type Handler interface {
	// Tool is the contract (from tools/).
	Tool() tool.Entry
	// Register adds the tool to an MCP server whose handlers use d.
	Register(srv *mcp.Server, d *Deps) error
}

// Run is the daemon's code for a tool with input In and output Out.
type Run[In, Out any] func(ctx context.Context, d *Deps, in In) (Out, error)

// Bind binds a contract to the code that answers it.
func Bind[In, Out any](def *tool.Def[In, Out], run Run[In, Out]) Handler {
	return &handler[In, Out]{def: def, run: run}
}

type handler[In, Out any] struct {
	def *tool.Def[In, Out]
	run Run[In, Out]
}

func (h *handler[In, Out]) Tool() tool.Entry { return h.def }

// Annotations are the MCP hints a tool's effect and idempotence give. They
// carry no title (see [handler.Register]).
func Annotations(i tool.Info) *mcp.ToolAnnotations {
	f := false
	a := &mcp.ToolAnnotations{OpenWorldHint: &f, IdempotentHint: i.Idempotent || i.Effect == tool.ReadOnly}
	switch i.Effect {
	case tool.ReadOnly:
		a.ReadOnlyHint = true
	case tool.Mutating:
		a.DestructiveHint = &f
	case tool.Destructive:
		tr := true
		a.DestructiveHint = &tr
	}
	return a
}

// Register implements [Handler]. The result's text content is the --ai
// rendering and its structured content the full output, both with secrets
// redacted unless the call asks for [tool.MetaVerbatim] or the tool calls
// [tool.KeepSecrets] (see tool/redact.go).
func (h *handler[In, Out]) Register(srv *mcp.Server, d *Deps) error {
	t := h.def
	in, out, err := schemas(t)
	if err != nil {
		return err
	}
	args, err := newArguments(t.Name, in)
	if err != nil {
		return err
	}
	// The tool is added with a handler of its own rather than the SDK's
	// typed one, which also unmarshals every answer into a generic value
	// to validate it against the output schema and marshals it again: the
	// answers are this package's own Go values, whose schemas come from the
	// same types, and that check cost a quarter of a call (more for a long
	// list). Arguments are checked as the SDK checks them (args).
	// No title: a client shows the snake_case name instead, and a model
	// reads the name and description, not a title. Every token of
	// tools/list is paid by every model on every turn (evals/ holds the
	// budget); the title stays in schemas/<tool>.json.
	srv.AddTool(&mcp.Tool{Name: t.Name, Description: t.Summary,
		InputSchema: in, OutputSchema: out, Annotations: Annotations(t.Info())},
		func(ctx context.Context, req *mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
			// The SDK does not recover a handler's panic, and the daemon
			// going down leaves every process it supervises orphaned: one
			// bad call must cost that call only.
			defer func() {
				if r := recover(); r != nil {
					if d.Log != nil {
						d.Log.Error("tool panicked", "tool", t.Name, "panic", r, "stack", string(debug.Stack()))
					}
					res, err = toolError(fmt.Errorf("%s: internal error (a bug in velos; the daemon logged it): %v", t.Name, r)), nil
				}
			}()
			var in In
			if err := args.decode(req.Params.Arguments, &in); err != nil {
				return toolError(err), nil
			}
			verbatim, _ := req.Params.GetMeta()[tool.MetaVerbatim].(bool)
			ctx = withProgress(ctx, req)
			run := func(ctx context.Context) (Out, error) { return h.run(ctx, d, in) }
			if d.Trace != nil {
				run = func(ctx context.Context) (_ Out, err error) {
					ctx, end := d.Trace(ctx, t.Name)
					defer func() { end(err) }()
					return h.run(ctx, d, in)
				}
			}
			o, err := tool.Answer(ctx, verbatim, run)
			if err != nil {
				if wire, ok := err.(*jsonrpc.Error); ok {
					return nil, wire
				}
				return toolError(err), nil
			}
			o = tool.EmptyLists(o)
			text, err := render.AIString(o)
			if err != nil {
				return nil, err
			}
			structured, err := json.Marshal(o)
			if err != nil {
				return nil, fmt.Errorf("%s: marshal output: %w", t.Name, err)
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}},
				StructuredContent: json.RawMessage(structured)}, nil
		})
	return nil
}

// toolError is a tool's own failure as MCP returns it: an isError result
// whose text the model can act on.
func toolError(err error) *mcp.CallToolResult {
	var r mcp.CallToolResult
	r.SetError(err)
	return &r
}

// arguments checks the arguments of one tool's calls against its input
// schema, as the SDK's typed handlers do: defaults applied, then validated;
// and, since the schemas clients see leave out additionalProperties:false
// (see tool/schema), an argument the schema does not name is refused here
// instead of being ignored.
type arguments struct {
	tool     string
	resolved *jsonschema.Resolved
}

func newArguments(name string, in any) (*arguments, error) {
	s, ok := in.(*jsonschema.Schema)
	if !ok {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s input schema: %w", name, err)
		}
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s input schema: %w", name, err)
		}
	}
	r, err := s.Resolve(&jsonschema.ResolveOptions{ValidateDefaults: true})
	if err != nil {
		return nil, fmt.Errorf("%s input schema: %w", name, err)
	}
	return &arguments{tool: name, resolved: r}, nil
}

// decode applies the schema's defaults to raw, validates it and decodes it
// into in.
func (a *arguments) decode(raw json.RawMessage, in any) error {
	v := map[string]any{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("validating \"arguments\": unmarshaling arguments: %v", err)
		}
	}
	props := a.resolved.Schema().Properties
	for k := range v {
		if _, ok := props[k]; !ok {
			return fmt.Errorf("%s: unknown argument %q", a.tool, k)
		}
	}
	var x any = v
	if err := a.resolved.ApplyDefaults(&x); err != nil {
		return fmt.Errorf("validating \"arguments\": applying schema defaults:\n%v", err)
	}
	if err := a.resolved.Validate(&x); err != nil {
		return fmt.Errorf("validating \"arguments\": %v", err)
	}
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Errorf("%s: arguments: %w", a.tool, err)
	}
	if err := json.Unmarshal(b, in); err != nil {
		return fmt.Errorf("%s: arguments: %w", a.tool, err)
	}
	return nil
}

// schemas are t's input and output schemas as generated into schemas/ (see
// make generate; a test fails when they are stale), or reflected from its
// types for a tool that has no file there yet (a test's own).
func schemas(t tool.Entry) (in, out any, err error) {
	i, o, ok, err := schemafiles.Tool(t.Info().Name)
	if err != nil || ok {
		return i, o, err
	}
	if in, err = schema.Input(t); err != nil {
		return nil, nil, err
	}
	if out, err = schema.Output(t); err != nil {
		return nil, nil, err
	}
	return in, out, nil
}

// Call runs h's code with input in, as a call of its tool would but
// without MCP (no schema defaults applied: give every field that matters),
// secrets redacted as in a tool's answer: for prompts, which gather what
// several tools answer into one message.
func Call[In, Out any](ctx context.Context, h Handler, d *Deps, in In) (Out, error) {
	hh, ok := h.(*handler[In, Out])
	if !ok {
		var zero Out
		return zero, fmt.Errorf("%s: called with the wrong input or output type", h.Tool().Info().Name)
	}
	o, err := tool.Answer(ctx, false, func(ctx context.Context) (Out, error) { return hh.run(ctx, d, in) })
	return tool.EmptyLists(o), err
}
