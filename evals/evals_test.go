package evals

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/tiktoken-go/tokenizer"

	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
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
	if res == nil {
		return ""
	}
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// jsonText is what `velos <tool> --json` prints for the call's result: its
// structured content decoded into the tool's output type and rendered as the
// CLI renders it.
func jsonText(t *testing.T, e tool.Entry, res *mcp.CallToolResult) string {
	t.Helper()
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	out := reflect.New(e.OutType())
	if err := json.Unmarshal(raw, out.Interface()); err != nil {
		t.Fatalf("structured content is no %s: %v", e.OutType(), err)
	}
	var b bytes.Buffer
	if err := render.Write(&b, render.JSON, out.Elem().Interface(), render.Options{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func entry(t *testing.T, name string) tool.Entry {
	t.Helper()
	for _, e := range tools.All {
		if e.Info().Name == name {
			return e
		}
	}
	t.Fatalf("no tool %s", name)
	return nil
}

// call calls a tool and fails the test on any error.
func call(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil || res.IsError {
		t.Fatalf("%s %v: %v %s", name, args, err, text(res))
	}
	return res
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
					res := call(t, cs, s.Tool, s.Args)
					if s.Until == "" || strings.Contains(text(res), s.Until) {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("setup %s: no %s within 10s: %s", s.Tool, s.Until, text(res))
					}
					time.Sleep(20 * time.Millisecond) // the daemon's children run on their own clock
				}
			}
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: orEmpty(c.Args)})
			if err != nil {
				t.Fatal(err)
			}
			out := text(res)
			if res.IsError {
				t.Fatalf("tool error: %s", out)
			}
			n := tokens(t, out)
			nj := tokens(t, jsonText(t, e, res))
			results.add(row{Tool: name, JSON: nj, AI: n, Budget: c.Budget})
			t.Logf("output: %d tokens (budget %d; --json %d): %s", n, c.Budget, nj, out)
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

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// TestToolsListBudget: the whole tools/list result, as a client receives
// it, costs at most ToolsListBudget tokens.
func TestToolsListBudget(t *testing.T) {
	t.Parallel()
	cs := testenv.New(t).Connect(nil)
	list, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(list)
	n := tokens(t, string(b))
	results.setList(n, len(list.Tools))
	t.Logf("tools/list: %d tools, %d tokens (budget %d)", len(list.Tools), n, ToolsListBudget)
	if n > ToolsListBudget {
		t.Errorf("tools/list costs %d tokens, budget %d: shorten briefs (tool.Brief) and summaries, see evals/cases.go", n, ToolsListBudget)
	}
}

// TestListCases: process_list's --ai output, for every ListCase, keeps every
// fact of its --json output for a fifth of its tokens or less. Both come
// from one call — the text content is the --ai rendering and the structured
// content what --json prints — so they describe the same moment.
//
// The online processes are alike, as the case says: started together from
// one velos.toml, and measured at a moment when they show the same memory
// and uptime (the daemon's answers are polled until they do). Rows whose
// memory or uptime differ carry those cells, and cost more.
func TestListCases(t *testing.T) {
	for _, c := range ListCases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			env := testenv.New(t)
			cs := env.Connect(nil)
			var toml strings.Builder
			// Alike services (a cluster's instances, say): the same program,
			// whose memory rounds to the same figure — a Python sleeper's
			// 13.1–13.4 MiB does; sleep's 1.5 MiB and a Go program's 6.5 MiB
			// sit on a rounding edge.
			for i := 0; i < c.Online; i++ {
				fmt.Fprintf(&toml, "[process.app-%d]\nscript = \"python3\"\nargs = [\"-c\", \"import time; time.sleep(1e9)\"]\n\n", i)
			}
			file := filepath.Join(t.TempDir(), "velos.toml")
			if err := os.WriteFile(file, []byte(toml.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			call(t, cs, "process_start", map[string]any{"script": file})
			if c.Odd != nil {
				args := map[string]any{"name": "odd"}
				for k, v := range c.Odd {
					args[k] = v
				}
				call(t, cs, "process_start", args)
			}
			res := alike(t, cs, c)
			ai, js := text(res), jsonText(t, entry(t, "process_list"), res)
			na, nj := tokens(t, ai), tokens(t, js)
			results.add(row{Tool: "process_list", Case: c.Name, JSON: nj, AI: na, Budget: c.Budget})
			t.Logf("%s: --ai %d tokens, --json %d (%.0f%%)\n%s", c.Name, na, nj, 100*float64(na)/float64(nj), ai)
			if float64(na) > c.Ratio*float64(nj) {
				t.Errorf("--ai is %d tokens, more than %.0f%% of --json's %d", na, 100*c.Ratio, nj)
			}
			if na > c.Budget {
				t.Errorf("--ai costs %d tokens, budget %d", na, c.Budget)
			}
			var out tools.ProcessesOut
			if err := json.Unmarshal([]byte(js), &out); err != nil {
				t.Fatal(err)
			}
			checkFacts(t, ai, out.Processes)
		})
	}
}

// alike polls process_list until the case's scene is set — the odd process
// in its status with its restarts, and every online one measured (memory
// shown), up for a second at least, and showing the same memory, uptime and
// CPU as the others — and returns that answer.
func alike(t *testing.T, cs *mcp.ClientSession, c ListCase) *mcp.CallToolResult {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res := call(t, cs, "process_list", nil)
		var out tools.ProcessesOut
		raw, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(raw, &out)
		online, odd := map[string]bool{}, c.Odd == nil
		for _, p := range out.Processes {
			switch {
			case p.Name == "odd":
				odd = p.Status == c.OddStatus && p.Restarts >= c.OddRestarts
			case p.Status == "online" && p.Memory > 0 && p.UptimeMS >= 1000:
				online[render.BytesRound(p.Memory)+" "+render.Duration(time.Duration(p.UptimeMS)*time.Millisecond)+" "+render.Percent(p.CPU)] = true
			default:
				online["not yet"], online["measured"] = true, true
			}
		}
		if odd && len(online) == 1 {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scene never set (odd %s with %d restarts; online alike): %s", c.OddStatus, c.OddRestarts, text(res))
		}
		time.Sleep(50 * time.Millisecond) // the processes age and the sampler measures on their own clocks
	}
}

// checkFacts reads the --ai listing back into one record per process and
// holds it to the full output: name, status, restarts, why a process is
// down, and — only for a running one — pid, memory and uptime as rendered.
// A process that is not running shows no pid, memory or uptime at all.
func checkFacts(t *testing.T, ai string, ps []tools.ProcessInfo) {
	t.Helper()
	recs, err := aiRecords(ai)
	if err != nil {
		t.Fatalf("read --ai back: %v\n%s", err, ai)
	}
	byName := map[string]map[string]string{}
	for _, r := range recs {
		byName[r["name"]] = r
	}
	if len(recs) != len(ps) {
		t.Errorf("--ai has %d processes, --json %d", len(recs), len(ps))
	}
	for _, p := range ps {
		r, ok := byName[p.Name]
		if !ok {
			t.Errorf("--ai lost %s", p.Name)
			continue
		}
		want := map[string]string{"st": p.Status, "id": fmt.Sprint(p.ID)}
		if p.Restarts > 0 {
			want["rs"] = fmt.Sprint(p.Restarts)
		}
		if p.Reason != "" {
			want["reason"] = p.Reason
		}
		running := p.Status == "online"
		if running {
			want["pid"] = fmt.Sprint(p.PID)
			if p.Memory > 0 {
				want["mem"] = render.BytesRound(p.Memory)
			}
			if p.UptimeMS >= 1000 {
				want["up"] = render.Duration(time.Duration(p.UptimeMS) * time.Millisecond)
			}
		} else {
			for _, k := range []string{"pid", "mem", "up", "cpu"} {
				if v, ok := r[k]; ok {
					t.Errorf("%s is %s but --ai gives it %s %q", p.Name, p.Status, k, v)
				}
			}
		}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s: --ai %s = %q, --json says %q", p.Name, k, r[k], v)
			}
		}
	}
}

// aiRecords reads a process listing rendered by --ai back into one record
// per process, key → value as text: the table's rows (one string of cells
// or an array each, "-" for no value), with the values said once in "all",
// and the odd rows in "other" as they are. The listing is the list itself,
// or (as other outputs hold one) the value of "processes".
func aiRecords(ai string) ([]map[string]string, error) {
	var doc struct {
		Processes json.RawMessage `json:"processes"`
	}
	doc.Processes = json.RawMessage(ai) // --ai gives the list itself
	if err := json.Unmarshal([]byte(ai), &doc); err != nil {
		var list []any
		if json.Unmarshal([]byte(ai), &list) != nil {
			return nil, err
		}
	}
	str := func(v any) string {
		if s, ok := v.(string); ok {
			return s
		}
		return fmt.Sprint(v)
	}
	fromMap := func(m map[string]any) map[string]string {
		r := map[string]string{}
		for k, v := range m {
			r[k] = str(v)
		}
		return r
	}
	var list []map[string]any
	if json.Unmarshal(doc.Processes, &list) == nil {
		var out []map[string]string
		for _, m := range list {
			out = append(out, fromMap(m))
		}
		return out, nil
	}
	var table struct {
		Cols  json.RawMessage  `json:"cols"`
		Rows  []any            `json:"rows"`
		All   map[string]any   `json:"all"`
		Other []map[string]any `json:"other"`
	}
	if err := json.Unmarshal(doc.Processes, &table); err != nil {
		return nil, err
	}
	var cols []string
	var line string
	if json.Unmarshal(table.Cols, &line) == nil {
		cols = strings.Fields(line)
	} else if err := json.Unmarshal(table.Cols, &cols); err != nil {
		return nil, fmt.Errorf("cols: %w", err)
	}
	var out []map[string]string
	for _, row := range table.Rows {
		var cells []string
		switch x := row.(type) {
		case string:
			cells = strings.Fields(x)
		case []any:
			for _, c := range x {
				cells = append(cells, str(c))
			}
		}
		if len(cells) != len(cols) {
			return nil, fmt.Errorf("row %v has %d cells for %d columns", row, len(cells), len(cols))
		}
		r := fromMap(table.All)
		for i, c := range cols {
			if cells[i] != "-" && cells[i] != "" {
				r[c] = cells[i]
			}
		}
		out = append(out, r)
	}
	for _, m := range table.Other {
		out = append(out, fromMap(m))
	}
	return out, nil
}
