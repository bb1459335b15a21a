// Package tool defines what a Velos operation is — a typed value with a name,
// an input and an output struct, an effect and a handler — and derives from it
// everything else: the MCP tool with its schemas and annotations, the kong CLI
// command, and the rendering. Packages that list tools (tools/) and programs
// that serve or call them (cmd/velos) are loops over [Entry] values.
package tool

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	sjson "github.com/segmentio/encoding/json"

	"github.com/velos-pm/velos/core/logs"
	"github.com/velos-pm/velos/core/metrics"
	"github.com/velos-pm/velos/core/schedule"
	"github.com/velos-pm/velos/core/state"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/render"
)

// Effect says what calling a tool does to the world. The zero value is
// invalid so that every tool has to decide.
type Effect int

// The effects.
const (
	effectUnset Effect = iota
	ReadOnly           // changes nothing
	Mutating           // changes state, safely (start, save)
	Destructive        // stops, deletes or discards something
)

func (e Effect) String() string {
	switch e {
	case ReadOnly:
		return "read-only"
	case Mutating:
		return "mutating"
	case Destructive:
		return "destructive"
	}
	return "unset"
}

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

// Def is one operation. In and Out are plain structs whose tags give the JSON
// Schema (json), the CLI (kong: arg, help, enum, default, short) and the
// rendering (see package render).
type Def[In, Out any] struct {
	Name    string   // MCP name: snake_case, noun_verb (process_start)
	CLI     string   // CLI command (start)
	Aliases []string // more CLI names (ls)
	// JSONAliases are more CLI names that also ask for --json output, as
	// PM2's jlist and prettylist are its list as JSON.
	JSONAliases []string
	// Default: this is the subcommand its parent runs when given none
	// (velos metrics --port 9615 is velos metrics serve --port 9615).
	Default bool
	Title   string // for people: schemas/<tool>.json (tools/list leaves it out to save tokens)
	Summary string // one line, shown in --help and as the MCP description: what the tool gives and when to use it
	Effect  Effect
	// Idempotent: calling it twice with the same input has no further effect.
	Idempotent bool
	// NoAutostart: the CLI reports "not running" instead of starting a daemon
	// for this tool (velos kill).
	NoAutostart bool
	// Prepare runs in the CLI process before the call, with the user's working
	// directory, e.g. to make relative paths absolute.
	Prepare func(in *In, cwd string) error
	// Local, when it returns true for an input, makes the CLI run the
	// handler in its own process instead of calling the daemon (e.g. reading
	// a file given on the command line, whose output could be too big for
	// one MCP message). The handler then gets a [Deps] with Log only.
	Local func(in *In) bool
	Run   func(ctx context.Context, d *Deps, in In) (Out, error)
	// After runs in the CLI process once the call has answered and its output
	// is printed (velos kill waits there for the daemon to be gone).
	After func(t *Term) error

	// Stream, when set, runs the CLI command in place of the single call
	// (see stream.go): on one session it may call the tool several times
	// and subscribe to resources, and each output it emits is rendered at
	// once. MCP clients are unaffected: they call the tool.
	Stream func(ctx context.Context, in In, s Stream[In, Out], emit func(Out) error) error
}

// Info is a tool's metadata without its types.
type Info struct {
	Name, CLI, Title, Summary string
	Aliases, JSONAliases      []string
	Default                   bool
	Effect                    Effect
	Idempotent, NoAutostart   bool
}

// Entry is a [Def] with its types erased, so tools of different types can sit
// in one list.
type Entry interface {
	Info() Info
	// InputSchema and OutputSchema are the JSON Schemas MCP clients see.
	InputSchema() (*jsonschema.Schema, error)
	OutputSchema() (*jsonschema.Schema, error)
	// ResultSchema is the whole output's schema: every level of the
	// structured content and of --json (OutputSchema says only "object").
	ResultSchema() (*jsonschema.Schema, error)
	// Annotations are the MCP hints derived from the effect.
	Annotations() *mcp.ToolAnnotations
	// Register adds the tool to an MCP server whose handlers use d.
	Register(srv *mcp.Server, d *Deps) error
	// Command returns a fresh kong command value that calls the tool through c.
	Command(c Caller) any
	// InType and OutType are the tool's input and output struct types.
	InType() reflect.Type
	OutType() reflect.Type
}

// Info implements [Entry].
func (t *Def[In, Out]) Info() Info {
	return Info{Name: t.Name, CLI: t.CLI, Title: t.Title, Summary: t.Summary, Aliases: t.Aliases, JSONAliases: t.JSONAliases, Default: t.Default,
		Effect: t.Effect, Idempotent: t.Idempotent, NoAutostart: t.NoAutostart}
}

// InType implements [Entry].
func (t *Def[In, Out]) InType() reflect.Type { return reflect.TypeFor[In]() }

// OutType implements [Entry].
func (t *Def[In, Out]) OutType() reflect.Type { return reflect.TypeFor[Out]() }

// InputSchema implements [Entry]: inferred from In, with descriptions, enums
// and defaults copied from the same tags kong reads, so the CLI and MCP agree.
// A list, map or pointer is typed without its "null": no caller should send
// null, and each one costs a model tokens in every tools/list.
func (t *Def[In, Out]) InputSchema() (*jsonschema.Schema, error) {
	s, err := jsonschema.For[In](nil)
	if err != nil {
		return nil, fmt.Errorf("%s input schema: %w", t.Name, err)
	}
	if err := annotate(s, reflect.TypeFor[In]()); err != nil {
		return nil, fmt.Errorf("%s input schema: %w", t.Name, err)
	}
	objectSchemas(s)
	notNull(s)
	return s, nil
}

// OutputSchema implements [Entry]: what tools/list says of the result, cut
// to what pays for its tokens: an object, and the keys every result has
// (required). Every key of every tool's result, with types, nesting and
// descriptions, would cost each connected model about 25 tokens a tool on
// every turn (with the types of the required keys alone, 20 a tool); the
// whole schema is [Def.ResultSchema], in schemas/<tool>.json, which the
// interop tests hold every result to.
func (t *Def[In, Out]) OutputSchema() (*jsonschema.Schema, error) {
	full, err := t.ResultSchema()
	if err != nil {
		return nil, err
	}
	return &jsonschema.Schema{Type: "object", Required: full.Required}, nil
}

// ResultSchema implements [Entry].
func (t *Def[In, Out]) ResultSchema() (*jsonschema.Schema, error) {
	s, err := jsonschema.For[Out](nil)
	if err != nil {
		return nil, fmt.Errorf("%s output schema: %w", t.Name, err)
	}
	objectSchemas(s)
	return s, nil
}

// Annotations implements [Entry]. They carry no title (see [Def.Register]).
func (t *Def[In, Out]) Annotations() *mcp.ToolAnnotations {
	f := false
	a := &mcp.ToolAnnotations{OpenWorldHint: &f, IdempotentHint: t.Idempotent || t.Effect == ReadOnly}
	switch t.Effect {
	case ReadOnly:
		a.ReadOnlyHint = true
	case Mutating:
		a.DestructiveHint = &f
	case Destructive:
		tr := true
		a.DestructiveHint = &tr
	}
	return a
}

// Register implements [Entry]. The result's text content is the --ai
// rendering and its structured content the full output, both with secrets
// redacted unless the call asks for [MetaVerbatim] or the tool calls
// [KeepSecrets] (see redact.go).
func (t *Def[In, Out]) Register(srv *mcp.Server, d *Deps) error {
	return t.register(srv, d, t.Run)
}

// register is [Def.Register] with the handler's body given: tests pass one
// that records the decoded input, so they check the exact decoding path.
func (t *Def[In, Out]) register(srv *mcp.Server, d *Deps, run func(ctx context.Context, d *Deps, in In) (Out, error)) error {
	in, err := t.InputSchema()
	if err != nil {
		return err
	}
	out, err := t.OutputSchema()
	if err != nil {
		return err
	}
	// No title: a client shows the snake_case name instead, and a model
	// reads the name and description, not a title. Every token of
	// tools/list is paid by every model on every turn (evals/ holds the
	// budget); the title stays in schemas/<tool>.json.
	mcp.AddTool(srv, &mcp.Tool{Name: t.Name, Description: t.Summary,
		InputSchema: in, OutputSchema: out, Annotations: t.Annotations()},
		func(ctx context.Context, req *mcp.CallToolRequest, in In) (_ *mcp.CallToolResult, _ Out, err error) {
			// The SDK does not recover a handler's panic, and the daemon
			// going down leaves every process it supervises orphaned: one
			// bad call must cost that call only.
			defer func() {
				if r := recover(); r != nil {
					if d.Log != nil {
						d.Log.Error("tool panicked", "tool", t.Name, "panic", r, "stack", string(debug.Stack()))
					}
					err = fmt.Errorf("%s: internal error (a bug in velos; the daemon logged it): %v", t.Name, r)
				}
			}()
			if err := knownArguments[In](req.Params.Arguments); err != nil {
				var zero Out
				return nil, zero, fmt.Errorf("%s: %w", t.Name, err)
			}
			if d.Trace != nil {
				var end func(error)
				ctx, end = d.Trace(ctx, t.Name)
				defer func() { end(err) }()
			}
			var keep bool
			o, err := run(withKeep(ctx, &keep), d, in)
			if err != nil {
				var zero Out
				return nil, zero, err
			}
			if verbatim, _ := req.Params.GetMeta()[MetaVerbatim].(bool); !verbatim && !keep {
				if o, err = Redacted(o); err != nil {
					return nil, o, err
				}
			}
			o = emptyLists(o)
			text, err := render.AIString(o)
			if err != nil {
				return nil, o, err
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, o, nil
		})
	return nil
}

// knownArguments refuses an argument In has no field for. The schemas
// clients see leave out additionalProperties:false (see objectSchemas), so
// this is where a misspelt argument is caught instead of being ignored.
//
// It decodes with the library and the flags the MCP SDK decodes arguments
// with (segmentio/encoding, names matched case-sensitively): with
// encoding/json, which matches names in any case, "Target" passed this check
// while the SDK dropped it, and the argument was silently ignored.
func knownArguments[In any](raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := sjson.NewDecoder(bytes.NewReader(raw))
	dec.DontMatchCaseInsensitiveStructFields()
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

var interp = regexp.MustCompile(`\$\{[^}]*\}`)

// Help returns a field's help text without kong's ${…} placeholders: what
// the CLI's help and the README say.
func Help(sf reflect.StructField) string {
	h := interp.ReplaceAllString(sf.Tag.Get("help"), "")
	return strings.TrimSpace(strings.Join(strings.Fields(h), " "))
}

// Brief returns a field's description in the input schema, which every
// model pays for in each tools/list: its brief tag, else its help. A brief
// says what a model needs that the name, type, enum and default do not
// (units, the default when it is not a schema default, what a value means);
// brief:"-" gives none, for a field whose name says it all.
func Brief(sf reflect.StructField) string {
	b, ok := sf.Tag.Lookup("brief")
	switch {
	case !ok:
		return Help(sf)
	case b == "-":
		return ""
	}
	return b
}

// annotate copies brief (or help), enum and default tags into the schema's
// properties. The empty string that kong needs in an enum for "not given"
// (enum:",fork,cluster" default:"") is left out of the schema: there, not
// given is leaving the key out.
func annotate(s *jsonschema.Schema, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if sf.Anonymous && name == "" {
			if err := annotate(s, sf.Type); err != nil {
				return err
			}
			continue
		}
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		p := s.Properties[name]
		if p == nil {
			continue
		}
		if h := Brief(sf); h != "" {
			p.Description = h
		}
		target := p
		if p.Items != nil && (sf.Type.Kind() == reflect.Slice) {
			target = p.Items
		}
		if e, ok := sf.Tag.Lookup("enum"); ok {
			for _, v := range strings.Split(e, ",") {
				if v = strings.TrimSpace(v); v != "" {
					target.Enum = append(target.Enum, v)
				}
			}
		}
		if dv, ok := sf.Tag.Lookup("default"); ok && dv != "" && sf.Type.Kind() != reflect.Slice {
			var raw []byte
			var err error
			switch sf.Type.Kind() {
			case reflect.String:
				raw, err = json.Marshal(dv)
			default:
				raw, err = []byte(dv), json.Unmarshal([]byte(dv), new(any))
			}
			if err != nil {
				return fmt.Errorf("field %s: default %q is not valid JSON for its type", sf.Name, dv)
			}
			p.Default = raw
		}
		if sf.Type.Kind() == reflect.Struct {
			if err := annotate(p, sf.Type); err != nil {
				return err
			}
		}
	}
	return nil
}
