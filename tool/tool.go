// Package tool defines what a Velos operation is — a typed contract with a
// name, an input and an output struct, an effect, a summary, rendering hints
// and the hooks the CLI runs — and derives the kong CLI command from it. The
// contracts of every operation are listed in tools/ (what the CLI links);
// the code that answers each one in the daemon is bound to its contract in
// handlers/ (what velosd links). Nothing here needs the domain: the CLI
// builds from this package without the supervisor.
package tool

import (
	"context"
	"reflect"
	"strings"
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

// Def is the contract of one operation. In and Out are plain structs whose
// tags give the JSON Schema (json), the CLI (kong: arg, help, enum, default,
// short) and the rendering (see package render). The daemon answers it with
// the handler bound to it in handlers/.
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
	// Local, when it returns true for an input, makes the CLI answer with
	// RunLocal in its own process instead of calling the daemon (e.g. reading
	// a file given on the command line, whose output could be too big for
	// one MCP message). RunLocal needs no daemon; the daemon's handler for
	// the same input usually calls it too.
	Local    func(in *In) bool
	RunLocal func(ctx context.Context, in In) (Out, error)
	// Progress: the call can be long (a rolling reload, a stop with a long
	// kill_timeout): on a terminal the CLI asks for progress and prints each
	// step on stderr as it comes.
	Progress bool
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
	Progress                  bool
}

// Entry is a [Def] with its types erased, so tools of different types can sit
// in one list.
type Entry interface {
	Info() Info
	// Command returns a fresh kong command value that calls the tool through c.
	Command(c Caller) any
	// InType and OutType are the tool's input and output struct types.
	InType() reflect.Type
	OutType() reflect.Type
}

// Info implements [Entry].
func (t *Def[In, Out]) Info() Info {
	return Info{Name: t.Name, CLI: t.CLI, Title: t.Title, Summary: t.Summary, Aliases: t.Aliases, JSONAliases: t.JSONAliases, Default: t.Default,
		Effect: t.Effect, Idempotent: t.Idempotent, NoAutostart: t.NoAutostart, Progress: t.Progress}
}

// InType implements [Entry].
func (t *Def[In, Out]) InType() reflect.Type { return reflect.TypeFor[In]() }

// OutType implements [Entry].
func (t *Def[In, Out]) OutType() reflect.Type { return reflect.TypeFor[Out]() }

// Help returns a field's help text without kong's ${…} placeholders: what
// the CLI's help and the README say.
func Help(sf reflect.StructField) string {
	h := sf.Tag.Get("help")
	for {
		i := strings.Index(h, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(h[i:], '}')
		if j < 0 {
			break
		}
		h = h[:i] + h[i+j+1:]
	}
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
