package prompts_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/internal/testenv"
)

// Every prompt (and the old name diagnose) carries the live state of the
// process it is asked about in one message; an unknown name is an error
// naming the known ones.
func TestPromptsCarryLiveState(t *testing.T) {
	e := testenv.New(t)
	e.MustRun("start", "sh", "--name", "flaky", "--autorestart", "never", "--", "-c", "echo 'ERROR db refused' >&2; exit 3")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.MustRun("list"), "errored") {
		if time.Now().After(deadline) {
			t.Fatal("flaky never ended errored")
		}
		time.Sleep(20 * time.Millisecond) // the daemon is another process: nothing to wait on
	}
	cs := e.Connect(nil)
	ctx := context.Background()
	lp, err := cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range lp.Prompts {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"diagnose", "diagnose_process", "explain_crash", "tune_restart_policy"}) {
		t.Fatalf("prompts/list: %v", names)
	}
	for _, c := range []struct {
		prompt string
		want   []string
	}{
		{"diagnose", []string{`"flaky"`, "errored", "last exit exit 3", "## Health (process_health_summary)", "failing", "## Recent errors", "db refused"}},
		{"diagnose_process", []string{`"flaky"`, "## Log digest (log_summary)", "db refused"}},
		{"explain_crash", []string{`"flaky"`, "last exit exit 3", "## Last lines (process_logs)", "db refused", "signal"}},
		{"tune_restart_policy", []string{`"flaky"`, "## Settings and history (process_describe)", "never", "max_restarts", "config set"}},
	} {
		res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: c.prompt, Arguments: map[string]string{"name": "flaky"}})
		if err != nil {
			t.Errorf("%s: %v", c.prompt, err)
			continue
		}
		if len(res.Messages) != 1 {
			t.Errorf("%s: %d messages, want one", c.prompt, len(res.Messages))
		}
		text := res.Messages[0].Content.(*mcp.TextContent).Text
		for _, want := range c.want {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q:\n%s", c.prompt, want, text)
			}
		}
	}
	if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "explain_crash", Arguments: map[string]string{"name": "nope"}}); err == nil ||
		!strings.Contains(err.Error(), `unknown process "nope"; known: flaky`) {
		t.Fatalf("unknown name: %v", err)
	}
}

// completion/complete gives the process names that start with what was
// typed, for every prompt's name argument and for velos://logs/{name}.
func TestCompleteProcessNames(t *testing.T) {
	e := testenv.New(t)
	for _, n := range []string{"api", "api-worker", "web"} {
		e.MustRun("start", "sleep", "--name", n, "--", "300")
	}
	e.MustRun("start", "sleep", "--name", "cl", "-i", "2", "--", "300") // one name, two instances
	cs := e.Connect(nil)
	if cs.InitializeResult() != nil && cs.InitializeResult().Capabilities.Completions == nil {
		t.Error("the server does not advertise completions")
	}
	ctx := context.Background()
	for _, c := range []struct {
		ref   *mcp.CompleteReference
		value string
		want  []string
	}{
		{&mcp.CompleteReference{Type: "ref/prompt", Name: "explain_crash"}, "ap", []string{"api", "api-worker"}},
		{&mcp.CompleteReference{Type: "ref/prompt", Name: "diagnose"}, "", []string{"api", "api-worker", "cl", "web"}},
		{&mcp.CompleteReference{Type: "ref/resource", URI: "velos://logs/{name}"}, "w", []string{"web"}},
		{&mcp.CompleteReference{Type: "ref/prompt", Name: "no_such_prompt"}, "a", []string{}},
	} {
		res, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: c.ref, Argument: mcp.CompleteParamsArgument{Name: "name", Value: c.value}})
		if err != nil {
			t.Fatalf("%+v: %v", c.ref, err)
		}
		if !slices.Equal(res.Completion.Values, c.want) {
			t.Errorf("%+v %q: %v, want %v", c.ref, c.value, res.Completion.Values, c.want)
		}
	}
}
