package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tools"
)

// completionCmd prints a shell's completion script. The scripts are thin:
// each asks `velos __complete WORDS…` for the candidates, which walks the
// same kong model the CLI parses with — the commands, flags and enum values
// of the tool registry — and asks a running daemon for process names.
type completionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"Shell to complete in: bash, zsh or fish."`
}

func (c completionCmd) Run(t *tool.Term) error {
	_, err := io.WriteString(t.Out, completionScripts[c.Shell])
	return err
}

// filesDirective, as the last line of __complete's answer, asks the shell to
// offer file names too (a script, a config file, a log file).
const filesDirective = ":files"

var completionScripts = map[string]string{
	"bash": `# velos completion for bash. Load it with: source <(velos completion bash)
# or save it as /etc/bash_completion.d/velos (or ~/.local/share/bash-completion/completions/velos).
_velos() {
    local cur="${COMP_WORDS[COMP_CWORD]}" line files=0
    local -a cands=()
    while IFS= read -r line; do
        if [[ $line == ":files" ]]; then files=1; continue; fi
        [[ -n $line ]] && cands+=("${line%%$'\t'*}")
    done < <(velos __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "${cands[*]}" -- "$cur"))
    if (( files )); then COMPREPLY+=($(compgen -f -- "$cur")); fi
}
complete -F _velos velos
`,
	"zsh": `#compdef velos
# velos completion for zsh. Load it with: source <(velos completion zsh)
# or save it as _velos in a folder of $fpath.
_velos() {
    local -a cands
    local line name desc files=0
    for line in "${(@f)$(velos __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}"; do
        if [[ $line == ":files" ]]; then files=1; continue; fi
        [[ -z $line ]] && continue
        name=${line%%$'\t'*}
        desc=${line#*$'\t'}
        [[ $desc == $line ]] && desc=""
        cands+=("${name//:/\\:}:$desc")
    done
    _describe -t velos velos cands
    (( files )) && _files
    return 0
}
if (( $+functions[compdef] )); then
    compdef _velos velos
fi
`,
	"fish": `# velos completion for fish. Load it with: velos completion fish | source
# or save it as ~/.config/fish/completions/velos.fish.
function __velos_candidates
    set -l words (commandline -opc) (commandline -ct)
    velos __complete $words[2..-1] 2>/dev/null
end
function __velos_complete
    __velos_candidates | string match -v -- ':files'
end
function __velos_wants_files
    __velos_candidates | string match -q -- ':files'
end
complete -c velos -f -a '(__velos_complete)'
complete -c velos -n __velos_wants_files -F
`,
}

// completeCmd is `velos __complete WORDS…`: the candidates for the last
// word, one per line as "candidate<TAB>description", then ":files" when
// file names fit too.
type completeCmd struct {
	Words []string `arg:"" optional:"" passthrough:"all" help:"The words after velos, the last one being completed."`
}

func (c completeCmd) Run(t *tool.Term, caller *client) error {
	var cli CLI
	p, err := newParser(&cli, tools.All, caller, io.Discard, io.Discard)
	if err != nil {
		return err
	}
	names := func() []string { return processNames(caller) }
	for _, line := range complete(p.Model.Node, c.Words, names) {
		if _, err := fmt.Fprintln(t.Out, line); err != nil {
			return err
		}
	}
	return nil
}

// processNames asks a running daemon for the process names; completion never
// starts one, and gives up quickly.
func processNames(caller tool.Caller) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	raw, err := caller.Call(ctx, tool.Info{Name: tools.List.Name, NoAutostart: true}, map[string]any{})
	if err != nil {
		return nil
	}
	var out tools.ProcessesOut
	if json.Unmarshal(raw, &out) != nil {
		return nil
	}
	var names []string
	for _, p := range out.Processes {
		if !slices.Contains(names, p.Name) {
			names = append(names, p.Name)
		}
	}
	return names
}

// complete returns the candidates for the last of words (the words after
// velos), walking the command tree: subcommands, the flags of the command and
// its parents, a flag's or argument's enum values, process names for an
// argument that takes a process, and the files directive for one that takes
// a file.
func complete(root *kong.Node, words []string, names func() []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur, done := words[len(words)-1], words[:len(words)-1]
	node, args := root, 0
	var want *kong.Value // the flag whose value the current word is
	for i := 0; i < len(done); i++ {
		w := done[i]
		if w == "--" {
			args = 1 << 20 // after --: arguments of the program, not ours
			continue
		}
		if strings.HasPrefix(w, "-") && len(w) > 1 {
			if f := findFlag(node, w); f != nil && !f.IsBool() && !strings.Contains(w, "=") {
				if i == len(done)-1 {
					want = f.Value
				}
				i++ // its value
			}
			continue
		}
		if child := findChild(node, w); child != nil {
			node, args = child, 0
			continue
		}
		args++
	}
	if want != nil {
		return values(want, cur, names)
	}
	if strings.HasPrefix(cur, "-") {
		var out []string
		for _, group := range node.AllFlags(true) {
			for _, f := range group {
				add := func(s string) {
					if strings.HasPrefix(s, cur) {
						out = append(out, s+"\t"+helpLine(f.Help))
					}
				}
				add("--" + f.Name)
				if f.Short != 0 {
					add("-" + string(f.Short))
				}
			}
		}
		return out
	}
	var out []string
	for _, c := range node.Children {
		if c.Hidden {
			continue
		}
		for _, n := range append([]string{c.Name}, c.Aliases...) {
			if strings.HasPrefix(n, cur) {
				out = append(out, n+"\t"+helpLine(c.Help))
			}
		}
	}
	if args < len(node.Positional) {
		out = append(out, values(node.Positional[args], cur, names)...)
	} else if len(node.Positional) > 0 && node.Positional[len(node.Positional)-1].IsSlice() {
		out = append(out, values(node.Positional[len(node.Positional)-1], cur, names)...)
	}
	return out
}

// values are the candidates for a flag's or argument's value.
func values(v *kong.Value, cur string, names func() []string) []string {
	var out []string
	keep := func(s, desc string) {
		if strings.HasPrefix(s, cur) {
			out = append(out, s+"\t"+desc)
		}
	}
	if v.Enum != "" {
		for _, e := range v.EnumSlice() {
			if e != "" {
				keep(e, "")
			}
		}
		return out
	}
	switch v.Name {
	case "target", "name":
		if v.Flag == nil { // a process, not --name NEW
			if strings.Contains(v.Help, "all") {
				keep("all", "every process")
			}
			for _, n := range names() {
				keep(n, "process")
			}
			return out
		}
	case "signal":
		for _, s := range []string{"SIGUSR2", "SIGUSR1", "SIGHUP", "SIGINT", "SIGTERM", "SIGQUIT", "SIGKILL", "SIGCONT", "SIGSTOP", "SIGWINCH"} {
			keep(s, "")
		}
		return out
	case "script", "file", "cwd", "env-file", "interpreter", "output", "args":
		return append(out, filesDirective)
	}
	return out
}

func findFlag(n *kong.Node, w string) *kong.Flag {
	name, _, _ := strings.Cut(w, "=")
	for _, group := range n.AllFlags(false) {
		for _, f := range group {
			if name == "--"+f.Name || (f.Short != 0 && name == "-"+string(f.Short)) || slices.Contains(f.Aliases, strings.TrimLeft(name, "-")) {
				return f
			}
		}
	}
	return nil
}

func findChild(n *kong.Node, w string) *kong.Node {
	for _, c := range n.Children {
		if c.Name == w || slices.Contains(c.Aliases, w) {
			return c
		}
	}
	return nil
}

func helpLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		s = s[:77] + "…"
	}
	return s
}
