package prompts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/internal/testenv"
)

func TestDiagnosePromptCarriesLiveState(t *testing.T) {
	e := testenv.New(t)
	e.MustRun("start", "sh", "--name", "flaky", "--autorestart", "never", "--", "-c", "exit 3")
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
	if err != nil || len(lp.Prompts) == 0 || lp.Prompts[0].Name != "diagnose" {
		t.Fatalf("prompts/list: %v %+v", err, lp)
	}
	res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "diagnose", Arguments: map[string]string{"name": "flaky"}})
	if err != nil {
		t.Fatal(err)
	}
	text := res.Messages[0].Content.(*mcp.TextContent).Text
	for _, want := range []string{`"flaky"`, "errored", "last exit exit 3", "process_health_summary"} {
		if !strings.Contains(text, want) {
			t.Errorf("prompt lacks %q:\n%s", want, text)
		}
	}
	if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "diagnose", Arguments: map[string]string{"name": "nope"}}); err == nil ||
		!strings.Contains(err.Error(), `unknown process "nope"; known: flaky`) {
		t.Fatalf("unknown name: %v", err)
	}
}
