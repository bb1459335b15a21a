// Package handlers answers every Velos operation in the daemon: for each
// contract in tools/ (what the CLI links), the code that runs it against the
// supervisor, the log store, the sampler and the rest of core/, bound to the
// contract with [Bind]. The files here have the names of the contract files
// in tools/. [All] is what velosd serves over MCP; a test holds it to
// tools.All, so no contract lacks a handler and no handler lacks a contract.
package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/logs"
	"github.com/velos-pm/velos/core/metrics"
	"github.com/velos-pm/velos/core/schedule"
	"github.com/velos-pm/velos/core/state"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/render"
	schemafiles "github.com/velos-pm/velos/schemas"
	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tool/schema"
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
	// No title: a client shows the snake_case name instead, and a model
	// reads the name and description, not a title. Every token of
	// tools/list is paid by every model on every turn (evals/ holds the
	// budget); the title stays in schemas/<tool>.json.
	mcp.AddTool(srv, &mcp.Tool{Name: t.Name, Description: t.Summary,
		InputSchema: in, OutputSchema: out, Annotations: Annotations(t.Info())},
		func(ctx context.Context, req *mcp.CallToolRequest, in In) (_ *mcp.CallToolResult, _ Out, err error) {
			if err := knownArguments[In](req.Params.Arguments); err != nil {
				var zero Out
				return nil, zero, fmt.Errorf("%s: %w", t.Name, err)
			}
			if d.Trace != nil {
				var end func(error)
				ctx, end = d.Trace(ctx, t.Name)
				defer func() { end(err) }()
			}
			verbatim, _ := req.Params.GetMeta()[tool.MetaVerbatim].(bool)
			o, err := tool.Answer(ctx, verbatim, func(ctx context.Context) (Out, error) { return h.run(ctx, d, in) })
			if err != nil {
				var zero Out
				return nil, zero, err
			}
			o = tool.EmptyLists(o)
			text, err := render.AIString(o)
			if err != nil {
				return nil, o, err
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, o, nil
		})
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

// knownArguments refuses an argument In has no field for. The schemas
// clients see leave out additionalProperties:false (see tool/schema), so
// this is where a misspelt argument is caught instead of being ignored.
func knownArguments[In any](raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var probe In
	if err := dec.Decode(&probe); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fmt.Errorf("unknown argument %s", name)
		}
		return fmt.Errorf("arguments: %w", err)
	}
	return nil
}
