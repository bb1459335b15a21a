package tool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/velos-pm/velos/render"
)

// Caller calls a tool by name on the daemon and returns its structured
// output. A failure of the tool itself is a *[Error]; anything else means the
// daemon could not be asked.
type Caller interface {
	Call(ctx context.Context, t Info, args any) (json.RawMessage, error)
}

// Error is a tool's own failure: what MCP returns as an isError result.
type Error struct {
	Tool string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Globals are the flags every command takes.
type Globals struct {
	JSON bool `help:"Print the full output as JSON." xor:"fmt"`
	AI   bool `help:"Print token-minimal JSON for models." xor:"fmt"`
}

// Mode is the output format the flags ask for.
func (g *Globals) Mode() render.Mode {
	switch {
	case g.JSON:
		return render.JSON
	case g.AI:
		return render.AI
	}
	return render.Human
}

// Term is where a command runs: its output streams, whether stdout is a
// terminal, and the user's working directory.
type Term struct {
	Out, Err io.Writer
	Render   render.Options
	Cwd      string
	Home     string // VELOS_HOME
}

// command is the kong command generated for a Def: In's fields become its
// flags and arguments.
type command[In, Out any] struct {
	In  In `embed:""`
	def *Def[In, Out]
	c   Caller
}

// Command implements [Entry].
func (t *Def[In, Out]) Command(c Caller) any { return &command[In, Out]{def: t, c: c} }

// RunCLI runs the tool as its CLI command would with input in: for static
// commands that are another spelling of a tool (velos mcp-server --http).
func (t *Def[In, Out]) RunCLI(c Caller, in In, g *Globals, term *Term) error {
	return (&command[In, Out]{In: in, def: t, c: c}).Run(g, term)
}

// Run is called by kong with the bound globals and terminal.
func (c *command[In, Out]) Run(g *Globals, term *Term) error {
	in := c.In
	if c.def.Prepare != nil {
		if err := c.def.Prepare(&in, term.Cwd); err != nil {
			return &Error{Tool: c.def.Name, Msg: err.Error()}
		}
	}
	// Only --ai output is meant for a model; people and scripts get the
	// output as is (see redact.go).
	ctx := WithVerbatim(context.Background(), g.Mode() != render.AI)
	if c.def.Local != nil && c.def.Local(&in) {
		return c.runLocal(ctx, g, term, in)
	}
	if c.def.Stream != nil {
		return c.runStream(ctx, g, term, in)
	}
	if c.def.Progress && term.Render.TTY && g.Mode() == render.Human {
		ctx = WithProgress(ctx, func(msg string) { fmt.Fprintln(term.Err, msg) })
	}
	raw, err := c.c.Call(ctx, c.def.Info(), Explicit(in))
	if err != nil {
		return err
	}
	var out Out
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("%s: decode result: %w", c.def.Name, err)
	}
	warn(term, out)
	if err := render.Write(term.Out, g.Mode(), out, term.Render); err != nil {
		return err
	}
	if c.def.After != nil {
		return c.def.After(term)
	}
	return nil
}

// runLocal answers in the CLI's process (see [Def.Local]), with the same
// redaction rule as a call through the daemon.
func (c *command[In, Out]) runLocal(ctx context.Context, g *Globals, term *Term, in In) error {
	if c.def.RunLocal == nil {
		return fmt.Errorf("%s: Local without RunLocal", c.def.Name)
	}
	out, err := Answer(ctx, Verbatim(ctx), func(ctx context.Context) (Out, error) { return c.def.RunLocal(ctx, in) })
	if err != nil {
		var te *Error
		if !errors.As(err, &te) {
			err = &Error{Tool: c.def.Name, Msg: err.Error()}
		}
		return err
	}
	warn(term, out)
	return render.Write(term.Out, g.Mode(), EmptyLists(out), term.Render)
}

// Warner is an output that carries warnings (keys of a PM2 file that did not
// map, say): the CLI prints them on stderr, so stdout stays the output.
type Warner interface {
	CLIWarnings() []string
}

func warn(term *Term, out any) {
	if w, ok := out.(Warner); ok {
		for _, s := range w.CLIWarnings() {
			fmt.Fprintln(term.Err, "velos: warning:", s)
		}
	}
}

// Explicit is in as the JSON object the CLI sends: omitempty drops a zero
// field, and MCP would then apply the schema's default in its place — but
// kong has already applied the same defaults from the same tags, so a zero
// here is what the user asked for (--port 0). A zero scalar with a schema
// default (a non-empty default tag) is sent; any other zero is left out,
// which means the same, and the "" kong keeps in an enum is not one the
// schema accepts.
func Explicit(in any) map[string]any {
	m := map[string]any{}
	if b, err := json.Marshal(in); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	addZeros(reflect.ValueOf(in), m)
	return m
}

func addZeros(v reflect.Value, m map[string]any) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if sf.Anonymous && name == "" {
			addZeros(v.Field(i), m)
			continue
		}
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if _, ok := m[name]; ok {
			continue
		}
		if sf.Tag.Get("default") == "" {
			continue
		}
		switch sf.Type.Kind() {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
			m[name] = v.Field(i).Interface()
		}
	}
}

type progressKey struct{}

// WithProgress asks a [Caller] to request progress for its call and give
// each step's message to fn.
func WithProgress(ctx context.Context, fn func(msg string)) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// ProgressFunc is what [WithProgress] set, or nil.
func ProgressFunc(ctx context.Context) func(msg string) {
	fn, _ := ctx.Value(progressKey{}).(func(string))
	return fn
}
