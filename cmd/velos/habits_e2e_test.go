package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

// productCommands are the command lines of the product description's
// examples, as written there. TestProductCommandsVerbatim runs each.
var productCommands = []string{
	`velos metrics --port 9615`,
	`velos start app.js -i max`,
	`velos logs api --grep "ERROR" --last "1h"`,
	`velos logs api --dedupe`,
	`velos logs api --summary`,
	`velos logs api --since "2024-01-15 10:00" --until "2024-01-15 11:00"`,
	`velos logs api --level error,warn`,
	`velos list --ai`,
	`velos mcp-server`,
	`velos startup`,
	`velos save`,
	`velos monit`,
}

// words splits a command line as a shell does for these lines: on spaces,
// with "double quotes" keeping words together.
func words(line string) []string {
	var out []string
	var cur strings.Builder
	quoted, any := false, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted, any = !quoted, true
		case r == ' ' && !quoted:
			if any {
				out = append(out, cur.String())
			}
			cur.Reset()
			any = false
		default:
			cur.WriteRune(r)
			any = true
		}
	}
	if any {
		out = append(out, cur.String())
	}
	return out
}

// TestProductCommandsVerbatim runs every command line of the product
// description as written, against a real daemon, and checks it did its job.
func TestProductCommandsVerbatim(t *testing.T) {
	t.Parallel()
	needNode(t)
	e := testenv.New(t)
	dir := project(t, map[string]string{"app.js": "console.log('app up'); setInterval(() => {}, 1000);\n"})
	e.MustRun("start", "sh", "--name", "api", "--", "-c",
		`echo "ERROR db down"; echo "ERROR db down"; echo "WARN slow query"; echo "INFO ok"; exec sleep 300`)
	waitFor(t, "api's lines", 10*time.Second, func() bool { return len(logsJSON(t, e, "api").Lines) == 4 })

	checks := map[string]func(r testenv.Result){
		`velos metrics --port 9615`: func(r testenv.Result) {
			if !strings.Contains(r.Stdout, "http://127.0.0.1:9615/metrics") {
				t.Errorf("metrics --port: %q", r.Stdout)
				return
			}
			resp, err := http.Get("http://127.0.0.1:9615/metrics")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(b), `velos_process_up{id="0",instance="0",name="api"} 1`) {
				t.Errorf("/metrics lacks api:\n%.500s", b)
			}
		},
		`velos start app.js -i max`: func(r testenv.Result) {
			if n := len(pids(list(t, e), "app")); n != runtime.NumCPU() {
				t.Errorf("-i max started %d instances, want %d (the CPUs)", n, runtime.NumCPU())
			}
		},
		`velos logs api --grep "ERROR" --last "1h"`: func(r testenv.Result) {
			if strings.Count(r.Stdout, "ERROR db down") != 2 || strings.Contains(r.Stdout, "WARN") {
				t.Errorf("grep: %q", r.Stdout)
			}
		},
		`velos logs api --dedupe`: func(r testenv.Result) {
			if !strings.Contains(r.Stdout, "x2") {
				t.Errorf("dedupe: %q", r.Stdout)
			}
		},
		`velos logs api --summary`: func(r testenv.Result) {
			if !strings.Contains(r.Stdout, "errors: 2") {
				t.Errorf("summary: %q", r.Stdout)
			}
		},
		`velos logs api --since "2024-01-15 10:00" --until "2024-01-15 11:00"`: func(r testenv.Result) {
			if strings.TrimSpace(r.Stdout) != "" {
				t.Errorf("a range in 2024 has no lines of this run: %q", r.Stdout)
			}
		},
		`velos logs api --level error,warn`: func(r testenv.Result) {
			if !strings.Contains(r.Stdout, "WARN slow query") || strings.Contains(r.Stdout, "INFO ok") {
				t.Errorf("level: %q", r.Stdout)
			}
		},
		`velos list --ai`: func(r testenv.Result) {
			var v map[string]any
			if json.Unmarshal([]byte(r.Stdout), &v) != nil || !strings.Contains(r.Stdout, " api ") {
				t.Errorf("list --ai: %q", r.Stdout)
			}
		},
		`velos startup`: func(r testenv.Result) {
			if !strings.Contains(r.Stdout, "daemon --resurrect") {
				t.Errorf("startup: %q", r.Stdout)
			}
		},
		`velos save`: func(r testenv.Result) {
			if _, err := os.Stat(filepath.Join(e.Home, "dump.toml")); err != nil {
				t.Errorf("save: %v", err)
			}
		},
	}
	for _, line := range productCommands {
		args := words(line)[1:]
		switch line {
		case `velos metrics --port 9615`:
			if ln, err := net.Listen("tcp", "127.0.0.1:9615"); err != nil {
				t.Logf("%s: skipped, port 9615 is taken on this machine: %v", line, err)
				continue
			} else {
				ln.Close()
			}
		case `velos mcp-server`:
			// A real MCP client on the command's stdio.
			cs := e.Bridge(nil)
			res, err := cs.ListTools(context.Background(), nil)
			if err != nil || len(res.Tools) != len(tools.All) {
				t.Errorf("%s: %v, %d tools", line, err, len(res.Tools))
			}
			cs.Close()
			continue
		case `velos monit`:
			runMonit(t, e)
			continue
		}
		r := e.RunIn(dir, args...)
		if r.Code != 0 {
			t.Errorf("%s: exit %d: %s", line, r.Code, r.Stderr)
			continue
		}
		if check := checks[line]; check != nil {
			check(r)
		} else {
			t.Errorf("%s: no check", line)
		}
	}
}

// TestCPUAtOnce: `velos list --json` 4 s after starting a busy loop shows
// its CPU, however the sampler's passes fall (a pass at start-up must not
// leave a 0 for "not measured yet").
func TestCPUAtOnce(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("list") // the daemon's first sampling pass is behind us
	e.MustRun("start", "sh", "--name", "busy", "--", "-c", "while :; do :; done")
	early := find(list(t, e), "busy") // a pass a moment after the start
	time.Sleep(4 * time.Second)       // the scenario: 4 s after starting
	p := find(list(t, e), "busy")
	kernel := float64(cpuTicks(t, p.PID)) / 4 // ticks are 10 ms: % over the ~4 s of its life
	t.Logf("at start %.1f%%, 4 s later %.1f%% (the kernel charged %.1f%% over its life)", early.CPU, p.CPU, kernel)
	if p.CPU <= 0 || early.CPU <= 0 {
		t.Fatalf("CPU %.1f%% at start, %.1f%% 4 s after starting a busy loop: a 0 means not measured", early.CPU, p.CPU)
	}
	switch {
	case kernel >= 25 && p.CPU < 20:
		t.Errorf("CPU %.1f%%, want ≥ 20%% for a busy loop", p.CPU)
	case kernel < 25:
		// An overloaded machine gives the loop less than a quarter of a
		// core; then the figure must agree with the kernel's.
		if d := p.CPU - kernel; d > 15 || d < -15 {
			t.Errorf("CPU %.1f%%, the kernel says %.1f%%", p.CPU, kernel)
		}
	}
}

// TestPM2Habits: reset, signal, pid, env, jlist/prettylist and logs without
// a name, as PM2 users type them.
func TestPM2Habits(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := t.TempDir()
	// Counts SIGUSR2s into a file; says so in its log.
	e.MustRun("start", "sh", "--name", "api", "--env", "GREETING=hello", "--", "-c",
		`trap 'echo usr2 >> `+dir+`/got' USR2; echo "api up"; while :; do sleep 0.05; done`)
	e.MustRun("start", "sh", "--name", "worker", "--", "-c", `echo "worker up"; exec sleep 300`)
	e.MustRun("restart", "api")
	if p := find(list(t, e), "api"); p.Restarts != 1 {
		t.Fatalf("restarts %d", p.Restarts)
	}
	pid := find(list(t, e), "api").PID

	// reset: counters to 0, same process.
	e.MustRun("reset", "api")
	var d tools.DescribeOut
	json.Unmarshal([]byte(e.MustRun("describe", "api", "--json")), &d)
	if p := d.Processes[0]; p.Restarts != 0 || len(p.History) != 0 || p.PID != pid {
		t.Errorf("after reset: %+v", p)
	}

	// signal SIGUSR2 api: the program's own trap runs, and it lives on.
	waitFor(t, "api's trap", 5*time.Second, func() bool { return len(logsJSON(t, e, "api").Lines) >= 1 })
	e.MustRun("signal", "SIGUSR2", "api")
	waitFor(t, "the trap to record SIGUSR2", 5*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "got"))
		return strings.Contains(string(b), "usr2")
	})
	if p := find(list(t, e), "api"); p.PID != pid || p.Status != "online" {
		t.Errorf("after SIGUSR2: %+v", p)
	}
	if r := e.Run("signal", "SIGBOGUS", "api"); r.Code != 1 || !strings.Contains(r.Stderr, `unknown signal "SIGBOGUS"`) {
		t.Errorf("bad signal: %d %q", r.Code, r.Stderr)
	}
	e.MustRun("stop", "worker")
	if r := e.Run("signal", "HUP", "worker"); r.Code != 1 || !strings.Contains(r.Stderr, "not running") {
		t.Errorf("signal to a stopped process: %d %q", r.Code, r.Stderr)
	}

	// pid: the running ones' pids, one per line.
	if out := strings.TrimSpace(e.MustRun("pid", "api")); out != strconv.Itoa(pid) {
		t.Errorf("pid api = %q, want %d", out, pid)
	}
	if out := strings.TrimSpace(e.MustRun("pid")); out != strconv.Itoa(pid) {
		t.Errorf("pid (all; worker stopped) = %q", out)
	}

	// env: read from the running process.
	out := e.MustRun("env", "api")
	for _, want := range []string{"GREETING=hello\n", "VELOS_NAME=api\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("env api lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "PATH=") {
		t.Errorf("env without --all shows the inherited PATH:\n%s", out)
	}
	if !strings.Contains(e.MustRun("env", "api", "--all"), "PATH=") {
		t.Error("env --all lacks PATH")
	}

	// jlist and prettylist are list --json.
	for _, alias := range []string{"jlist", "prettylist"} {
		var lo tools.ProcessesOut
		if err := json.Unmarshal([]byte(e.MustRun(alias)), &lo); err != nil || len(lo.Processes) != 2 {
			t.Errorf("%s: %v %+v", alias, err, lo)
		}
	}

	// logs without a name: every process's lines (piped: no follow).
	out = e.MustRun("logs")
	if !strings.Contains(out, "api ") || !strings.Contains(out, "worker ") {
		t.Errorf("velos logs:\n%s", out)
	}
}
