// Package prompts holds Velos's MCP prompts: ready-made requests a user can
// pick in an agent's UI, filled with the live state so the model starts from
// facts rather than a round trip. Each gathers what the read-only tools
// would answer (in their --ai form) into one user message, and says what to
// do with it. Their process-name argument completes (completion/complete),
// as does the name in velos://logs/{name}.
package prompts

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/handlers"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tools"
)

// prompt is one prompt: its name, texts, and the message it builds for a
// process (name or id).
type prompt struct {
	name, title, description string
	build                    func(ctx context.Context, d *handlers.Deps, target string) (string, error)
}

// all are the prompts, and aliases the names kept for clients that use an
// older one.
var (
	all = []prompt{
		{"diagnose_process", "Diagnose a process",
			"Find out why a managed process is crashing, restarting or unhealthy, and propose a fix. Carries its state, health verdict, log digest and recent errors.",
			diagnose},
		{"explain_crash", "Explain a crash",
			"Explain why a managed process last exited or keeps crashing: its exit code or signal, restart causes and the log lines before the exit.",
			explainCrash},
		{"tune_restart_policy", "Tune the restart policy",
			"Propose restart settings (autorestart, restart_delay, min_uptime, max_restarts, restart_window, kill_timeout, max_memory) for a process from its run history and memory.",
			tuneRestart},
	}
	aliases = map[string]string{"diagnose": "diagnose_process"}
)

// nameArg is the argument every prompt takes.
const nameArg = "name"

// Options sets the completion handler in o (which makes the server
// advertise completions).
func Options(o *mcp.ServerOptions, d *handlers.Deps) {
	o.CompletionHandler = func(ctx context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
		return complete(d, req.Params), nil
	}
}

// Register adds every prompt, and its aliases, to srv.
func Register(srv *mcp.Server, d *handlers.Deps) {
	add := func(name, title, description string, p prompt) {
		srv.AddPrompt(&mcp.Prompt{
			Name: name, Title: title, Description: description,
			Arguments: []*mcp.PromptArgument{{Name: nameArg, Description: "process name or numeric id", Required: true}},
		}, func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			target := strings.TrimSpace(req.Params.Arguments[nameArg])
			if target == "" {
				return nil, fmt.Errorf("%s: the %q argument is required: a process name or id", name, nameArg)
			}
			if _, err := d.Procs.Select(target); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			text, err := p.build(ctx, d, target)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			return &mcp.GetPromptResult{
				Description: p.title + ": " + target,
				Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}},
			}, nil
		})
	}
	for _, p := range all {
		add(p.name, p.title, p.description, p)
	}
	for alias, name := range aliases {
		i := slices.IndexFunc(all, func(p prompt) bool { return p.name == name })
		add(alias, all[i].title, "The same as "+name+" (an older name).", all[i])
	}
}

// complete answers completion/complete: process names for a prompt's name
// argument and for velos://logs/{name}; nothing for anything else.
func complete(d *handlers.Deps, p *mcp.CompleteParams) *mcp.CompleteResult {
	res := &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: []string{}}}
	if p == nil || p.Ref == nil || p.Argument.Name != nameArg {
		return res
	}
	switch {
	case p.Ref.Type == "ref/prompt" && (slices.ContainsFunc(all, func(x prompt) bool { return x.name == p.Ref.Name }) || aliases[p.Ref.Name] != ""):
	case p.Ref.Type == "ref/resource" && p.Ref.URI == tools.LogsURIPrefix+"{name}":
	default:
		return res
	}
	var names []string
	for _, in := range d.Procs.List() {
		if strings.HasPrefix(in.Name, p.Argument.Value) && !slices.Contains(names, in.Name) {
			names = append(names, in.Name)
		}
	}
	slices.Sort(names)
	const most = 100 // the protocol's limit per answer
	res.Completion.Total = len(names)
	if len(names) > most {
		names, res.Completion.HasMore = names[:most], true
	}
	res.Completion.Values = names
	return res
}

// message builds a prompt's text: a first line, sections of facts, and
// what to do.
type message struct {
	ctx    context.Context
	d      *handlers.Deps
	target string
	b      strings.Builder
}

func newMessage(ctx context.Context, d *handlers.Deps, target, first string) *message {
	m := &message{ctx: ctx, d: d, target: target}
	m.b.WriteString(first)
	m.b.WriteString("\n")
	return m
}

// section adds a heading and what a tool answers for it (its --ai form),
// or why it could not.
func section[In, Out any](m *message, heading string, h handlers.Handler, in In) {
	fmt.Fprintf(&m.b, "\n## %s (%s)\n", heading, h.Tool().Info().Name)
	out, err := handlers.Call[In, Out](m.ctx, h, m.d, in)
	if err != nil {
		fmt.Fprintf(&m.b, "unavailable: %v\n", err)
		return
	}
	text, err := render.AIString(out)
	if err != nil {
		fmt.Fprintf(&m.b, "unavailable: %v\n", err)
		return
	}
	m.b.WriteString(text)
	m.b.WriteString("\n")
}

func (m *message) text(next string) string {
	m.b.WriteString("\n")
	m.b.WriteString(next)
	return m.b.String()
}

// supervisorState is what the supervisor knows of each instance, in words.
func supervisorState(m *message) {
	ins, _ := m.d.Procs.Select(m.target)
	m.b.WriteString("\n## Supervisor\n")
	for _, in := range ins {
		fmt.Fprintf(&m.b, "- id %d %s: %s, %d restarts, command %q, cwd %s", in.ID, in.LogName(), in.Status, in.Restarts, insight.Redact(strings.Join(in.Spec.Command, " ")), in.Spec.Cwd)
		if in.LastExit != nil {
			fmt.Fprintf(&m.b, ", last exit %s after %s", in.LastExit, render.Duration(in.LastExit.Uptime))
		}
		if in.Reason != "" {
			fmt.Fprintf(&m.b, ", reason: %s", in.Reason)
		}
		m.b.WriteString("\n")
		if n := len(in.History); n > 0 {
			var causes []string
			for _, r := range in.History[max(0, n-10):] {
				causes = append(causes, r.Time.UTC().Format("15:04:05")+" "+r.Cause)
			}
			fmt.Fprintf(&m.b, "  recent restarts (UTC, cause): %s\n", strings.Join(causes, "; "))
		}
	}
}

func diagnose(ctx context.Context, d *handlers.Deps, target string) (string, error) {
	m := newMessage(ctx, d, target, fmt.Sprintf("Diagnose the Velos-managed process %q. What Velos knows now:", target))
	supervisorState(m)
	section[tools.HealthIn, tools.HealthOut](m, "Health", handlers.ProcessHealth, tools.HealthIn{Target: target, Window: "1h"})
	section[tools.SummaryIn, tools.LogSummary](m, "Log digest", handlers.LogSummaryTool, tools.SummaryIn{Target: target, RangeIn: tools.RangeIn{Since: "1h"}})
	section[tools.LogsIn, tools.LogsOut](m, "Recent errors", handlers.Logs, tools.LogsIn{Target: target, Level: []string{"error"}, Lines: 20})
	return m.text(`Name the root cause with the evidence (log lines, exit codes, restart causes), then propose the
smallest fix: a code or config change (velos config set), or an operational step (restart,
max_memory, env). For more: process_health_summary, log_summary, log_search, and process_logs
with level "error" around the last failure.`), nil
}

func explainCrash(ctx context.Context, d *handlers.Deps, target string) (string, error) {
	m := newMessage(ctx, d, target, fmt.Sprintf("Explain why the Velos-managed process %q crashed. What Velos knows now:", target))
	supervisorState(m)
	section[tools.DescribeIn, tools.DescribeOut](m, "Details", handlers.Describe, tools.DescribeIn{Target: target})
	section[tools.LogsIn, tools.LogsOut](m, "Last lines", handlers.Logs, tools.LogsIn{Target: target, Lines: 40})
	section[tools.LogsIn, tools.LogsOut](m, "Recent errors", handlers.Logs, tools.LogsIn{Target: target, Level: []string{"error"}, Lines: 20})
	return m.text(`Say what the last exit means (an exit code is the program's own; a signal was sent: SIGKILL by
Velos after kill_timeout, by max_memory or the kernel's OOM killer; SIGSEGV/SIGABRT a crash), which
log lines led to it, whether the restarts share the cause, and what would stop it. Quote the lines
you rely on.`), nil
}

func tuneRestart(ctx context.Context, d *handlers.Deps, target string) (string, error) {
	m := newMessage(ctx, d, target, fmt.Sprintf("Tune the restart policy of the Velos-managed process %q. What Velos knows now:", target))
	supervisorState(m)
	section[tools.DescribeIn, tools.DescribeOut](m, "Settings and history", handlers.Describe, tools.DescribeIn{Target: target})
	section[tools.MetricsIn, tools.MetricsOut](m, "CPU and memory", handlers.Metrics, tools.MetricsIn{Target: target, Window: "5m"})
	return m.text(`Velos's defaults: autorestart always; a crash after a stable run (up ≥ 5 s) restarts at once,
quick crashes back off 100 ms, 200 ms … capped at 4 s; 10 restarts inside 60 s is a crash loop
(errored); kill_timeout 5s. From the run history (uptimes, causes) and memory, propose values for
autorestart, restart_delay, max_restart_delay, restart_factor, min_uptime, max_restarts,
restart_window, kill_timeout and max_memory, each with its reason, as velos config set commands
(config_set). Say when a restart policy cannot fix the cause.`), nil
}
