// Command velos is a process manager whose every operation is an MCP tool.
// The CLI is generated from the tool contracts (tools.All) and calls the
// daemon, velosd, over MCP on its unix socket, starting it when needed;
// `velos daemon` runs velosd in the foreground and `velos mcp-server`
// bridges an MCP client on stdio to it. It links no supervisor, metrics or
// telemetry: see DESIGN.md, "Why two binaries".
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tools"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes, documented in the README.
const (
	exitOK      = 0
	exitFailed  = 1 // the operation failed: unknown process, bad config, missing script …
	exitUsage   = 2 // the command line is wrong
	exitDaemon  = 3 // the daemon could not be reached or started
	exitUnknown = 4 // anything else
)

// CLI is the root command: the static commands; the tool commands are added
// from the registry.
type CLI struct {
	tool.Globals
	Daemon    daemonCmd    `cmd:"" group:"Daemon" help:"Run the daemon (velosd) in the foreground, for systemd, containers and debugging; velos daemon --help lists its flags."`
	MCPServer mcpServerCmd `cmd:"" group:"Daemon" name:"mcp-server" help:"Serve MCP over stdio, bridged to the daemon (for Claude, Cursor and other agents)."`
	Version   versionCmd   `cmd:"" group:"Daemon" help:"Print the velos version."`
	Monit     monitCmd     `cmd:"" group:"Processes" help:"Live dashboard: CPU and memory of every process, details and logs of the selected one; restart or stop it."`
	Events    eventsCmd    `cmd:"" group:"Processes" help:"Recent events (start, ready, exit, restart with cause, errored, config change), from velos://events; -f follows them."`
	// Completion is generated from the registry at completion time (see
	// completion.go); __complete is what the scripts call.
	Completion completionCmd `cmd:"" group:"Daemon" help:"Print the shell completion script for bash, zsh or fish (source <(velos completion bash))."`
	Complete   completeCmd   `cmd:"" name:"__complete" hidden:"" help:"Completion candidates for the words after velos (used by the completion scripts)."`
}

func main() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) }

// exitRequest carries kong's request to exit (after --help) out of Parse.
type exitRequest int

// Main runs velos with args and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(exitRequest)
			if !ok {
				panic(r)
			}
			code = int(e)
		}
	}()
	// The answers that need neither the registry nor a daemon come first:
	// a CLI call is a process start, and these must cost nothing more.
	switch {
	case len(args) == 1 && (args[0] == "--version" || args[0] == "version"):
		fmt.Fprintln(stdout, "velos", version)
		return exitOK
	case len(args) > 0 && args[0] == "daemon":
		return execDaemon(args[1:], stderr)
	}
	home, err := daemon.DefaultHome()
	if err != nil {
		fmt.Fprintln(stderr, "velos:", err)
		return exitUsage
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "velos:", err)
		return exitUnknown
	}
	args = jsonAlias(args, tools.All)
	caller := &client{home: home, exe: exe}
	// A command that names a tool gets a parser of that tool alone: the
	// static commands' model costs more to build than the rest of the call.
	entries := commandEntries(args, tools.All)
	var root any
	var globals *tool.Globals
	if len(entries) < len(tools.All) {
		r := &toolCLI{}
		root, globals = r, &r.Globals
	} else {
		r := &CLI{}
		root, globals = r, &r.Globals
	}
	parser, err := newParser(root, entries, caller, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "velos: registry:", err)
		return exitUnknown
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		return fail(stderr, jsonMode(args), err, exitUsage)
	}
	cwd, _ := os.Getwd()
	tty := isTerminal(stdout)
	t := &tool.Term{Out: stdout, Err: stderr, Cwd: cwd, Home: home.Dir,
		Render: render.Options{TTY: tty, Color: tty && os.Getenv("NO_COLOR") == ""}}
	err = kctx.Run(globals, t, home, caller)
	if errors.Is(err, errNothingToDo) {
		fmt.Fprintln(stderr, "velos: the daemon is not running; nothing to do")
		return exitOK
	}
	var ec exitCode
	if errors.As(err, &ec) {
		return int(ec)
	}
	if err != nil {
		return fail(stderr, globals.JSON || globals.AI, err, codeOf(err))
	}
	return exitOK
}

// commandEntries narrows the registry to the command args name, when they
// name one: building kong's model of every command costs more than the rest
// of a `velos list` together. Help and unknown commands get everything.
func commandEntries(args []string, entries []tool.Entry) []tool.Entry {
	for _, a := range args {
		if a == "--json" || a == "--ai" {
			continue
		}
		if strings.HasPrefix(a, "-") {
			return entries
		}
		var out []tool.Entry
		for _, e := range entries {
			info := e.Info()
			first, _, _ := strings.Cut(info.CLI, " ")
			if first == a || slices.Contains(info.Aliases, a) {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			return entries
		}
		return out
	}
	return entries
}

// jsonAlias turns a command named by one of a tool's JSON aliases (velos
// jlist) into the tool's command with --json (velos list --json).
func jsonAlias(args []string, entries []tool.Entry) []string {
	for i, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		for _, e := range entries {
			if info := e.Info(); slices.Contains(info.JSONAliases, a) {
				return slices.Concat(args[:i], []string{info.CLI, "--json"}, args[i+1:])
			}
		}
		return args
	}
	return args
}

// toolCLI is the root of a command line that names a tool: the global
// flags and that tool's command, none of the static ones.
type toolCLI struct{ tool.Globals }

// newParser builds the kong parser: root's static commands (a [CLI] or a
// [toolCLI]) plus one command per tool.
func newParser(root any, entries []tool.Entry, c tool.Caller, stdout, stderr io.Writer) (*kong.Kong, error) {
	opts := []kong.Option{
		kong.Name("velos"),
		kong.Description("A process manager for developers, SREs and AI agents. Every command is also an MCP tool."),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitRequest(code)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	}
	// A CLI path of two words ("config validate") is a subcommand of a
	// parent command built here, so tools need not know about each other.
	parents := map[string][]tool.Entry{}
	var order []string
	for _, e := range entries {
		info := e.Info()
		parent, _, nested := strings.Cut(info.CLI, " ")
		if !nested {
			opts = append(opts, kong.DynamicCommand(info.CLI, info.Summary, "Processes", e.Command(c), aliasTags(info)...))
			continue
		}
		if parents[parent] == nil {
			order = append(order, parent)
		}
		parents[parent] = append(parents[parent], e)
	}
	for _, parent := range order {
		opts = append(opts, kong.DynamicCommand(parent, parentHelp(parents[parent]), "Processes", nestedCommand(parents[parent], c)))
	}
	return kong.New(root, opts...)
}

func aliasTags(info tool.Info) []string {
	if len(info.Aliases) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("aliases:%q", strings.Join(info.Aliases, ","))}
}

// nestedCommand makes a struct with one kong subcommand field per entry.
func nestedCommand(entries []tool.Entry, c tool.Caller) any {
	var fields []reflect.StructField
	var values []reflect.Value
	for i, e := range entries {
		info := e.Info()
		v := reflect.ValueOf(e.Command(c)).Elem()
		_, sub, _ := strings.Cut(info.CLI, " ")
		tag := fmt.Sprintf(`cmd:"" name:%q help:%q`, sub, info.Summary)
		if info.Default {
			tag += ` default:"withargs"`
		}
		if len(info.Aliases) > 0 {
			tag += fmt.Sprintf(` aliases:%q`, strings.Join(info.Aliases, ","))
		}
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("C%d", i), Type: v.Type(), Tag: reflect.StructTag(tag)})
		values = append(values, v)
	}
	p := reflect.New(reflect.StructOf(fields))
	for i, v := range values {
		p.Elem().Field(i).Set(v)
	}
	return p.Interface()
}

func parentHelp(entries []tool.Entry) string {
	var subs []string
	for _, e := range entries {
		_, sub, _ := strings.Cut(e.Info().CLI, " ")
		if e.Info().Default {
			sub += " (the default)"
		}
		subs = append(subs, sub)
	}
	return "Subcommands: " + strings.Join(subs, ", ") + "."
}

func codeOf(err error) int {
	var te *tool.Error
	switch {
	case errors.As(err, &te):
		return exitFailed
	case errors.Is(err, daemon.ErrNotRunning), errors.Is(err, daemon.ErrStart), errors.Is(err, errDaemon):
		return exitDaemon
	case errors.Is(err, daemon.ErrRunning):
		return exitFailed
	}
	return exitUnknown
}

// fail prints err the way the output mode asks: one JSON object on stderr
// with --json/--ai, a plain line otherwise.
func fail(stderr io.Writer, asJSON bool, err error, code int) int {
	if asJSON {
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		fmt.Fprintln(stderr, string(b))
	} else {
		fmt.Fprintln(stderr, "velos:", err)
	}
	return code
}

// jsonMode spots --json/--ai when parsing failed before flags were bound.
func jsonMode(args []string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--json" || a == "--ai" {
			return true
		}
	}
	return false
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

type versionCmd struct{}

func (versionCmd) Run(t *tool.Term) error {
	_, err := fmt.Fprintln(t.Out, "velos", version)
	return err
}
