// Package prompts holds Velos's MCP prompts: ready-made requests a user can
// pick in an agent's UI, filled with the live state so the model starts from
// facts rather than a round trip.
package prompts

import (
	"context"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/handlers"
	"github.com/velos-pm/velos/render"
)

// Register adds every prompt to srv.
func Register(srv *mcp.Server, d *handlers.Deps) {
	srv.AddPrompt(&mcp.Prompt{
		Name:        "diagnose",
		Title:       "Diagnose a process",
		Description: "Find out why a managed process is crashing, restarting or unhealthy, and propose a fix.",
		Arguments:   []*mcp.PromptArgument{{Name: "name", Description: "process name or numeric id", Required: true}},
	}, func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		name := strings.TrimSpace(req.Params.Arguments["name"])
		text, err := diagnose(d, name)
		if err != nil {
			return nil, err
		}
		return &mcp.GetPromptResult{
			Description: "Diagnose " + name,
			Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}},
		}, nil
	})
}

// diagnose states what the supervisor knows and what to look at next.
func diagnose(d *handlers.Deps, target string) (string, error) {
	ins, err := d.Procs.Select(target)
	if err != nil {
		return "", fmt.Errorf("diagnose: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Diagnose the Velos-managed process %q. What the supervisor knows now:\n", target)
	for _, in := range ins {
		fmt.Fprintf(&b, "- id %d %s: %s, %d restarts, command %q, cwd %s", in.ID, in.LogName(), in.Status, in.Restarts, strings.Join(in.Spec.Command, " "), in.Spec.Cwd)
		if in.LastExit != nil {
			fmt.Fprintf(&b, ", last exit %s after %s", in.LastExit, render.Duration(in.LastExit.Uptime))
		}
		if in.Reason != "" {
			fmt.Fprintf(&b, ", reason: %s", in.Reason)
		}
		b.WriteString("\n")
		if n := len(in.History); n > 0 {
			var causes []string
			for _, r := range in.History[max(0, n-5):] {
				causes = append(causes, r.Time.UTC().Format("15:04:05")+" "+r.Cause)
			}
			fmt.Fprintf(&b, "  recent restarts: %s\n", strings.Join(causes, "; "))
		}
	}
	b.WriteString(`Next: call process_health_summary for the verdict and its reasons, log_summary for error counts and
patterns, and process_logs with level "error" for the lines around the last failure. Name the root
cause with the evidence (log lines, exit codes, restart causes), then propose the smallest fix:
a code or config change (velos config set), or an operational step (restart, max_memory, env).`)
	return b.String(), nil
}
