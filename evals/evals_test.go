package evals

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/tiktoken-go/tokenizer"

	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

func tokens(t *testing.T, s string) int {
	t.Helper()
	enc, err := tokenizer.Get(tokenizer.O200kBase)
	if err != nil {
		t.Fatal(err)
	}
	n, err := enc.Count(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// TestEvals plays every tool's scenario against a real daemon and holds its
// output to the case's token budget and facts.
func TestEvals(t *testing.T) {
	for _, e := range tools.All {
		name := e.Info().Name
		c, ok := Find(name)
		if !ok {
			t.Errorf("%s: no eval case", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := testenv.New(t)
			cs := env.Connect(nil)
			ctx := context.Background()

			list, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, tl := range list.Tools {
				if tl.Name != name {
					continue
				}
				b, _ := json.Marshal(tl)
				if n := tokens(t, string(b)); n > c.ListBudget {
					t.Errorf("tools/list entry costs %d tokens, budget %d", n, c.ListBudget)
				} else {
					t.Logf("tools/list entry: %d tokens (budget %d)", n, c.ListBudget)
				}
			}
			for _, s := range c.Setup {
				deadline := time.Now().Add(10 * time.Second)
				for {
					res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: s.Tool, Arguments: s.Args})
					if err != nil || res.IsError {
						t.Fatalf("setup %s: %v %s", s.Tool, err, text(res))
					}
					if s.Until == "" || strings.Contains(text(res), s.Until) {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("setup %s: no %s within 10s: %s", s.Tool, s.Until, text(res))
					}
					time.Sleep(20 * time.Millisecond) // the daemon's children run on their own clock
				}
			}
			args := c.Args
			if args == nil {
				args = map[string]any{}
			}
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
			if err != nil {
				t.Fatal(err)
			}
			out := text(res)
			if res.IsError {
				t.Fatalf("tool error: %s", out)
			}
			n := tokens(t, out)
			t.Logf("output: %d tokens (budget %d): %s", n, c.Budget, out)
			if n > c.Budget {
				t.Errorf("output costs %d tokens, budget %d", n, c.Budget)
			}
			for _, f := range c.Facts {
				if !strings.Contains(out, f) {
					t.Errorf("output lacks fact %s: %s", f, out)
				}
			}
		})
	}
}

// TestListAIIsAFifthOfJSON: with 10 processes, `velos list --ai` costs at
// most 20% of the tokens of `velos list --json`, and at most 200 tokens.
func TestListAIIsAFifthOfJSON(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	for i := 0; i < 10; i++ {
		env.MustRun("start", "sleep", "--name", fmt.Sprintf("app-%d", i), "--", "300")
	}
	// Real rows carry memory and uptime: have the sampler measure every process first.
	env.MustRun("metrics", "show", "all")
	ai, js := env.MustRun("list", "--ai"), env.MustRun("list", "--json")
	if !strings.Contains(ai, "mem") {
		t.Fatalf("the listing has no memory column, so it is not a realistic one: %s", ai)
	}
	na, nj := tokens(t, ai), tokens(t, js)
	t.Logf("list of 10: --ai %d tokens, --json %d tokens (%.0f%%)\n%s", na, nj, 100*float64(na)/float64(nj), ai)
	if float64(na) > 0.2*float64(nj) {
		t.Errorf("--ai is %d tokens, more than 20%% of --json's %d", na, nj)
	}
	if na > 200 {
		t.Errorf("--ai for 10 processes is %d tokens, budget 200", na)
	}
	for i := 0; i < 10; i++ {
		if !strings.Contains(ai, fmt.Sprintf(" app-%d ", i)) {
			t.Errorf("--ai lost app-%d", i)
		}
	}
}
