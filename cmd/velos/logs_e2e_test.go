package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

// producer prints 30 lines at once — INFO, every 5th a WARN, every 10th an
// ERROR on stderr — then one coloured line, then sleeps.
const producer = `for i in $(seq 1 30); do
  if [ $((i % 10)) -eq 0 ]; then echo "ERROR fail $i" >&2
  elif [ $((i % 5)) -eq 0 ]; then echo "WARN slow $i"
  else echo "INFO req $i"; fi
done
printf '\033[32mCOLOR ok\033[0m\n'
exec sleep 300`

// logsJSON runs `velos logs … --json` and decodes it.
func logsJSON(t *testing.T, e *testenv.Env, args ...string) tools.LogsOut {
	t.Helper()
	var out tools.LogsOut
	s := e.MustRun(append(append([]string{"logs"}, args...), "--json")...)
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("logs %v --json: %v\n%s", args, err, s)
	}
	return out
}

// texts is the text of each line.
func texts(ls []tools.LogLine) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Text
	}
	return out
}

// runWithEnv is testenv's Run with more environment (TZ).
func runWithEnv(t *testing.T, e *testenv.Env, env []string, args ...string) testenv.Result {
	t.Helper()
	cmd := exec.Command(e.Bin, args...)
	cmd.Env = append(append(os.Environ(), "VELOS_HOME="+e.Home, "NO_COLOR=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return testenv.Result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// humanLine is one line of `velos logs` for people: name | local time | text.
var humanLine = regexp.MustCompile(`^(api|api:err) +\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \| (.*)$`)

func TestLogsQueries(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sh", "--name", "api", "--", "-c", producer)
	waitFor(t, "31 lines of api", 10*time.Second, func() bool {
		return len(logsJSON(t, e, "api", "--lines=-1").Lines) == 31
	})
	all := logsJSON(t, e, "api", "--lines=-1").Lines

	// Not a terminal: prints and ends, no --no-follow needed.
	start := time.Now()
	r := e.Run("logs", "api", "--out", "--lines", "5")
	if took := time.Since(start); r.Code != 0 || took > 5*time.Second {
		t.Fatalf("logs piped: exit %d after %v: %s", r.Code, took, r.Stderr)
	}
	var got []string
	for _, l := range nonEmptyLines(r.Stdout) {
		m := humanLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("human line %q is not `name | time | text`", l)
		}
		got = append(got, m[2])
	}
	// Piped, colour codes are removed.
	if want := []string{"INFO req 26", "INFO req 27", "INFO req 28", "INFO req 29", "COLOR ok"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("--out --lines 5: %q, want %q", got, want)
	}

	tests := []struct {
		name string
		args []string
		want []string // texts, in order
	}{
		{"lines 100 is everything", []string{"--lines", "100", "--out"}, nil},
		{"grep and last", []string{"--grep", "ERROR", "--last", "1h"}, []string{"ERROR fail 10", "ERROR fail 20", "ERROR fail 30"}},
		{"level error,warn", []string{"--level", "error,warn", "--out"}, []string{"WARN slow 5", "WARN slow 15", "WARN slow 25"}},
		{"err only", []string{"--err"}, []string{"ERROR fail 10", "ERROR fail 20", "ERROR fail 30"}},
		{"default 15", []string{"--out"}, nil},
		{"a range without lines", []string{"--since", "2024-01-15 10:00", "--until", "2024-01-15 11:00"}, []string{}},
	}
	for _, tt := range tests {
		out := logsJSON(t, e, append([]string{"api"}, tt.args...)...)
		switch tt.name {
		case "lines 100 is everything":
			if len(out.Lines) != 28 {
				t.Errorf("%s: %d stdout lines, want 28", tt.name, len(out.Lines))
			}
		case "default 15":
			if len(out.Lines) != 15 || out.Lines[14].Text != "\x1b[32mCOLOR ok\x1b[0m" {
				t.Errorf("%s: %d lines, last %q", tt.name, len(out.Lines), out.Lines[len(out.Lines)-1].Text)
			}
		default:
			if g := texts(out.Lines); strings.Join(g, "|") != strings.Join(tt.want, "|") {
				t.Errorf("%s: got %q, want %q", tt.name, g, tt.want)
			}
		}
	}
	// --level error: stderr lines without a level word count as errors too.
	if n := len(logsJSON(t, e, "api", "--level", "error").Lines); n != 3 {
		t.Errorf("--level error: %d lines, want 3", n)
	}

	// --since/--until pass through exactly: since inclusive, until exclusive,
	// with the stamps read back from --json.
	since, until := all[5].Time, all[15].Time
	out := logsJSON(t, e, "api", "--since", since.Format(time.RFC3339Nano), "--until", until.Format(time.RFC3339Nano))
	if g, w := texts(out.Lines), texts(all[5:15]); strings.Join(g, "|") != strings.Join(w, "|") {
		t.Errorf("since/until RFC 3339:\n got %q\nwant %q", g, w)
	}
	// A time without a zone is the user's local time, whatever the daemon's:
	// the CLI runs in a +05:30 zone here.
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	from := since.Truncate(time.Second)
	r = runWithEnv(t, e, []string{"TZ=Asia/Kolkata"}, "logs", "api", "--json",
		"--since", from.In(kolkata).Format("2006-01-02 15:04:05"), "--until", from.Add(2*time.Second).In(kolkata).Format("2006-01-02 15:04:05"))
	if r.Code != 0 {
		t.Fatalf("local since/until: exit %d: %s", r.Code, r.Stderr)
	}
	var local tools.LogsOut
	if err := json.Unmarshal([]byte(r.Stdout), &local); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range all {
		if !l.Time.Before(from) && l.Time.Before(from.Add(2*time.Second)) {
			want = append(want, l.Text)
		}
	}
	if g := texts(local.Lines); len(want) == 0 || strings.Join(g, "|") != strings.Join(want, "|") {
		t.Errorf("since/until in local time:\n got %q\nwant %q", g, want)
	}

	// --ai: compact, colour codes removed, stderr marked. (--out: stdout and
	// stderr are read apart, so their stamps need not follow write order.)
	ai := e.MustRun("logs", "api", "--ai", "--out", "--lines", "2")
	if !strings.Contains(ai, `COLOR ok"`) || strings.Contains(ai, `\u001b`) || !strings.Contains(ai, `"utc":`) {
		t.Errorf("--ai: %s", ai)
	}
	if ai := e.MustRun("logs", "api", "--ai", "--err", "--lines", "1"); !strings.Contains(ai, "[err] ERROR fail 30") {
		t.Errorf("--ai --err: %s", ai)
	}

	// An id names the process too.
	if out := logsJSON(t, e, "0", "--err", "--lines", "1"); len(out.Lines) != 1 || out.Lines[0].Text != "ERROR fail 30" {
		t.Errorf("logs by id: %+v", out.Lines)
	}

	// Bad input: a clear error, non-zero exit.
	bad := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"logs", "nope"}, 1, `unknown process "nope"; known: api`},
		{[]string{"logs", "api", "--since", "yesterday-ish"}, 1, `--since "yesterday-ish"`},
		{[]string{"logs", "api", "--grep", "("}, 1, "grep"},
		{[]string{"logs", "api", "--level", "bogus"}, 2, "bogus"},
		{[]string{"logs", "api", "--since", "1h", "--until", "2h"}, 1, "not before"},
		{[]string{"logs", "api", "--last", "2024-01-15"}, 1, "--last"},
		{[]string{"logs", "api", "--follow", "--until", "1m"}, 1, "cannot be followed"},
		{[]string{"logs", "api", "--err", "--out"}, 2, ""},
		{[]string{"flush", "nope"}, 1, `unknown process "nope"`},
	}
	for _, b := range bad {
		r := e.Run(b.args...)
		if r.Code != b.code || !strings.Contains(r.Stderr, b.msg) {
			t.Errorf("velos %s: exit %d (want %d), stderr %q (want %q)", strings.Join(b.args, " "), r.Code, b.code, r.Stderr, b.msg)
		}
	}

	// flush empties; the process keeps logging into the emptied files.
	if s := e.MustRun("flush", "api"); !strings.Contains(s, "api") {
		t.Errorf("flush: %q", s)
	}
	if out := logsJSON(t, e, "api", "--lines=-1"); len(out.Lines) != 0 {
		t.Errorf("after flush: %d lines", len(out.Lines))
	}
	e.MustRun("flush")
}

// follower runs `velos logs args…` with stdout on w and sends each line it
// prints on the returned channel.
func follower(t *testing.T, e *testenv.Env, stdout *os.File, r io.Reader, args ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(e.Bin, append([]string{"logs"}, args...)...)
	cmd.Env = append(os.Environ(), "VELOS_HOME="+e.Home, "NO_COLOR=1")
	cmd.Stdout = stdout
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdout.Close() // the child has it
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("follower stderr: %s", errb.String())
		}
	})
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return cmd, lines
}

// expect waits for a line containing s.
func expect(t *testing.T, lines <-chan string, s string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before a line with %q", s)
			}
			if strings.Contains(l, s) {
				return
			}
		case <-deadline:
			t.Fatalf("no line with %q within %v", s, d)
		}
	}
}

// bootPID starts (or restarts) a process that prints "boot <pid>" once.
const booter = `echo "boot $$"; exec sleep 300`

func pidOf(t *testing.T, e *testenv.Env, name string) int {
	t.Helper()
	p := find(list(t, e), name)
	if p == nil {
		t.Fatalf("no process %s", name)
	}
	return p.PID
}

func TestLogsFollowStreamsUntilInterrupted(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sh", "--name", "api", "--", "-c", booter)
	first := pidOf(t, e, "api")
	waitFor(t, "the boot line", 10*time.Second, func() bool { return len(logsJSON(t, e, "api").Lines) == 1 })

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd, lines := follower(t, e, w, r, "api", "--follow")
	expect(t, lines, fmt.Sprintf("boot %d", first), 10*time.Second)

	// A line printed after the follower started reaches it.
	e.MustRun("restart", "api")
	second := pidOf(t, e, "api")
	expect(t, lines, fmt.Sprintf("boot %d", second), 5*time.Second)

	// Ctrl-C ends it cleanly.
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("after Ctrl-C: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still following 5s after Ctrl-C")
	}
}

// dial opens an MCP session on the daemon socket speaking protocol, with
// resources/updated notifications sent to the returned channel.
func dial(t *testing.T, e *testenv.Env, protocol string) (*mcp.ClientSession, <-chan string) {
	t.Helper()
	e.MustRun("list") // starts the daemon
	conn, err := net.Dial("unix", filepath.Join(e.Home, "velos.sock"))
	if err != nil {
		t.Fatal(err)
	}
	updates := make(chan string, 100)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, r *mcp.ResourceUpdatedNotificationRequest) {
			updates <- r.Params.URI
		},
	}).Connect(context.Background(), &mcp.IOTransport{Reader: conn, Writer: conn}, &mcp.ClientSessionOptions{ProtocolVersion: protocol})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, updates
}

// TestLogResourceSubscription: an MCP client subscribed to a process's log
// resource hears of a new line within a second and reads it, in both eras.
func TestLogResourceSubscription(t *testing.T) {
	for _, proto := range []string{"2026-07-28", "2025-11-25"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			e := testenv.New(t)
			fifo := filepath.Join(e.Home, "in")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			// It prints only what the test writes into the fifo.
			e.MustRun("start", "sh", "--name", "echo", "--", "-c", `while :; do read l < "$0"; echo "got $l"; done`, fifo)
			cs, updates := dial(t, e, proto)
			ctx := context.Background()
			uri := "velos://logs/echo"
			if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: uri}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // the 2026 listen stream registers after Subscribe returns

			if err := os.WriteFile(fifo, []byte("line-1\n"), 0); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			select {
			case got := <-updates:
				if got != uri {
					t.Fatalf("update for %s", got)
				}
				t.Logf("notified %v after the write", time.Since(sent))
			case <-time.After(time.Second):
				t.Fatal("no notifications/resources/updated within 1s of the line")
			}
			res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
			if err != nil {
				t.Fatal(err)
			}
			if txt := res.Contents[0].Text; !strings.Contains(txt, " got line-1\n") || res.Contents[0].MIMEType != "text/plain" {
				t.Fatalf("resource after the update: %q (%s)", txt, res.Contents[0].MIMEType)
			}

			// The process list resource, and a refusal for an unknown name.
			res, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "velos://processes"})
			if err != nil || !strings.Contains(res.Contents[0].Text, `"name":"echo"`) {
				t.Fatalf("velos://processes: %v %+v", err, res)
			}
			if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "velos://logs/nope"}); err == nil || !strings.Contains(err.Error(), "unknown process") {
				t.Fatalf("unknown log resource: %v", err)
			}
		})
	}
}

func callLogs(t *testing.T, cs *mcp.ClientSession, args map[string]any) (tools.LogsOut, string) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "process_logs", Arguments: args})
	if err != nil {
		t.Fatal(err)
	}
	text := ""
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text += tc.Text
		}
	}
	if res.IsError {
		t.Fatalf("process_logs %v: %s", args, text)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var out tools.LogsOut
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out, text
}

// TestLogsBoundedAndPaged: on a 100k-line log, process_logs answers within
// its bounds, says it was cut, and its cursor continues without a gap or a
// repeat; the CLI for people pages through all of it.
func TestLogsBoundedAndPaged(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	const n = 100000
	e.MustRun("start", "sh", "--name", "big", "--", "-c", fmt.Sprintf("seq 1 %d; exec sleep 300", n))
	cs := e.Connect(nil)
	waitFor(t, "the last line", 20*time.Second, func() bool {
		out, _ := callLogs(t, cs, map[string]any{"target": "big", "lines": 1})
		return len(out.Lines) == 1 && out.Lines[0].Text == strconv.Itoa(n)
	})

	out, text := callLogs(t, cs, map[string]any{"target": "big", "lines": -1})
	size := 0
	for _, l := range out.Lines {
		size += len(l.Text)
	}
	if len(out.Lines) > tools.LogsMaxLines || size > tools.LogsMaxBytes || !out.Truncated || out.Cursor == "" {
		t.Fatalf("unfiltered answer: %d lines, %d bytes, truncated=%v, cursor=%q", len(out.Lines), size, out.Truncated, out.Cursor)
	}
	if !strings.Contains(text, `"truncated":true`) || !strings.Contains(text, `"cursor":`) {
		t.Fatalf("the text content does not say it was cut: %.200s", text)
	}
	next := 1
	check := func(ls []tools.LogLine) {
		for _, l := range ls {
			if l.Text != strconv.Itoa(next) {
				t.Fatalf("line %q where %d was due: a gap or a repeat", l.Text, next)
			}
			next++
		}
	}
	check(out.Lines)
	for pages := 1; out.Truncated; pages++ {
		if pages > 20 {
			t.Fatal("paging does not end")
		}
		out, _ = callLogs(t, cs, map[string]any{"target": "big", "lines": -1, "cursor": out.Cursor, "max_lines": tools.LogsHardLines})
		if len(out.Lines) > tools.LogsHardLines {
			t.Fatalf("%d lines over the hard cap", len(out.Lines))
		}
		check(out.Lines)
	}
	if next != n+1 {
		t.Fatalf("paging ended at line %d of %d", next-1, n)
	}

	// People get every line they ask for, fetched a page at a time.
	lines := nonEmptyLines(e.MustRun("logs", "big", "--lines", strconv.Itoa(n)))
	if len(lines) != n || !strings.HasSuffix(lines[0], "| 1") || !strings.HasSuffix(lines[n-1], fmt.Sprintf("| %d", n)) {
		t.Fatalf("velos logs --lines %d printed %d lines", n, len(lines))
	}
}
