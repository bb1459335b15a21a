//go:build linux

package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// opTimeout bounds one operation of a client: longer means the daemon is
// stuck (a deadlock), and the test says so with the daemon's goroutines.
const opTimeout = 30 * time.Second

// client issues operations on its own processes (so it knows what their
// state must be) and shared ones (list, save), through the CLI or MCP.
type client struct {
	id   int
	e    *env
	rng  *rand.Rand
	cs   *mcp.ClientSession // nil: the CLI
	want map[string]string  // own process name → "online", "stopped"; absent: not there
	ops  map[string]int
}

// call runs one operation: tool name and arguments for MCP, the same as a
// velos command line for the CLI. It reports whether it succeeded, and fails
// the test when it does not return within opTimeout.
func (c *client) call(ctx context.Context, tool string, args map[string]any, cli ...string) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	start := time.Now()
	var ok bool
	var out string
	if c.cs != nil {
		res, err := c.cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
		switch {
		case err != nil:
			out = err.Error()
		default:
			ok = !res.IsError
			if len(res.Content) > 0 {
				if tc, isText := res.Content[0].(*mcp.TextContent); isText {
					out = tc.Text
				}
			}
		}
	} else {
		cmd := exec.CommandContext(ctx, c.e.Bin, cli...)
		cmd.Env = append(os.Environ(), "VELOS_HOME="+c.e.Home, "NO_COLOR=1")
		b, err := cmd.CombinedOutput()
		ok, out = err == nil, string(b)
	}
	if time.Since(start) >= opTimeout || ctx.Err() != nil {
		return false, "TIMEOUT"
	}
	c.ops[tool]++
	return ok, out
}

// step does one random operation and checks its result against what the
// client knows. It returns an error for a wrong result, and "TIMEOUT" as its
// text when the daemon did not answer.
func (c *client) step(ctx context.Context) error {
	name := fmt.Sprintf("c%02d-%d", c.id, c.rng.IntN(2))
	st := c.want[name]
	check := func(tool string, wantOK bool, args map[string]any, cli ...string) error {
		ok, out := c.call(ctx, tool, args, cli...)
		if out == "TIMEOUT" {
			return fmt.Errorf("TIMEOUT: %s %v did not answer within %v", tool, args, opTimeout)
		}
		if ok != wantOK {
			return fmt.Errorf("%s %v (%s, expected state %q): ok=%v, want %v: %s", tool, args, c.kind(), st, ok, wantOK, strings.TrimSpace(out))
		}
		return nil
	}
	switch op := c.rng.IntN(10); {
	case op < 2: // start; an existing name must be refused
		err := check("process_start", st == "", map[string]any{"script": "sleep", "args": []string{"1000"}, "name": name},
			"start", "sleep", "--name", name, "--", "1000")
		if st == "" {
			c.want[name] = "online"
		}
		return err
	case op < 3:
		err := check("process_stop", st != "", map[string]any{"target": name}, "stop", name)
		if st != "" {
			c.want[name] = "stopped"
		}
		return err
	case op < 4:
		err := check("process_restart", st != "", map[string]any{"target": name}, "restart", name)
		if st != "" {
			c.want[name] = "online"
		}
		return err
	case op < 5:
		err := check("process_delete", st != "", map[string]any{"target": name}, "delete", name)
		delete(c.want, name)
		return err
	case op < 6:
		return check("process_describe", st != "", map[string]any{"target": name}, "describe", name)
	case op < 7:
		return check("process_logs", st != "", map[string]any{"target": name, "lines": 5}, "logs", name, "--lines", "5", "--no-follow")
	case op < 8:
		return check("state_save", true, map[string]any{}, "save")
	default:
		return check("process_list", true, map[string]any{}, "list")
	}
}

func (c *client) kind() string {
	if c.cs != nil {
		return "MCP"
	}
	return "CLI"
}

// runClients runs n clients for d — half through the CLI, half over MCP
// (one in five of those through velos mcp-server) — then checks that the
// daemon answers, that every process is exactly where its client left it
// (none lost, none doubled) and that the state file is valid.
func runClients(t *testing.T, n int, d time.Duration) {
	e := newEnv(t)
	e.MustRun("list") // one daemon for all
	ctx := context.Background()
	clients := make([]*client, n)
	for i := range clients {
		c := &client{id: i, e: e, rng: rand.New(rand.NewPCG(uint64(i), 12)), want: map[string]string{}, ops: map[string]int{}}
		switch {
		case i%2 == 0:
		case i%10 == 1:
			c.cs = e.Bridge(nil)
		default:
			c.cs = e.Connect(nil)
		}
		clients[i] = c
	}
	var wg sync.WaitGroup
	var stuck atomic.Bool
	errs := make(chan error, n)
	deadline := time.Now().Add(d)
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && !stuck.Load() {
				if err := c.step(ctx); err != nil {
					if strings.HasPrefix(err.Error(), "TIMEOUT") {
						stuck.Store(true)
					}
					errs <- fmt.Errorf("client %d: %w", c.id, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if stuck.Load() {
			t.Fatalf("%v\n--- daemon goroutines:\n%s", err, e.dumpStacks())
		}
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	ps := e.healthy()
	listed := map[string]string{}
	for _, p := range ps {
		listed[p.Name] = p.Status
	}
	total := map[string]int{}
	for _, c := range clients {
		for k, v := range c.ops {
			total[k] += v
		}
		for i := range 2 {
			name := fmt.Sprintf("c%02d-%d", c.id, i)
			if got, want := listed[name], c.want[name]; got != want {
				t.Errorf("%s is %q, its client (%s) left it %q", name, got, c.kind(), want)
			}
		}
	}
	if len(ps) != countWanted(clients) {
		t.Errorf("%d processes listed, the clients left %d", len(ps), countWanted(clients))
	}
	t.Logf("%d clients for %v: operations %v; %d processes at the end", n, d, total, len(ps))
}

func countWanted(cs []*client) int {
	n := 0
	for _, c := range cs {
		n += len(c.want)
	}
	return n
}
