package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tools"
)

var updateMonit = flag.Bool("update-monit", false, "rewrite cmd/velos/testdata/monit_*.golden")

// fakeDaemon answers the monit's tool calls from a fixed snapshot and
// records the calls that change something: the boundary the TUI talks to.
type fakeDaemon struct {
	mu    sync.Mutex
	procs []tools.ProcessMetrics
	det   map[string]tools.ProcessDetail
	calls []string // "tool target" of mutating calls
}

func (f *fakeDaemon) Call(_ context.Context, t tool.Info, args any) (json.RawMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := args.(map[string]any)
	switch t.Name {
	case "process_metrics":
		return json.Marshal(tools.MetricsOut{Window: "1m", Processes: f.procs})
	case "process_describe":
		d, ok := f.det[a["target"].(string)]
		if !ok {
			return nil, &tool.Error{Tool: t.Name, Msg: "unknown process"}
		}
		return json.Marshal(tools.DescribeOut{Processes: []tools.ProcessDetail{d}})
	case "process_restart", "process_stop", "process_reload":
		f.calls = append(f.calls, t.Name+" "+a["target"].(string))
		return json.Marshal(tools.ProcessesOut{Processes: []tools.ProcessInfo{}})
	}
	return nil, errors.New("fake daemon: unexpected tool " + t.Name)
}

func snapshot() *fakeDaemon {
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	return &fakeDaemon{
		procs: []tools.ProcessMetrics{
			{ID: 0, Name: "api", Status: "online", PID: 4100, CPU: 12.5, Memory: 84 << 20, Threads: 9, FDs: 23, Procs: 2,
				UptimeMS: 3 * 3600e3, Restarts: 1, CPUAvg: 10, CPUMax: 31, MemAvg: 80 << 20, MemMax: 90 << 20, MemTrend: "+1.2M/min", Samples: 12},
			{ID: 1, Name: "worker-with-a-rather-long-name", Status: "online", PID: 4200, CPU: 0.4, Memory: 12 << 20, Threads: 1, FDs: 5, Procs: 1,
				UptimeMS: 65e3, CPUAvg: 0.3, CPUMax: 1, MemAvg: 12 << 20, MemMax: 12 << 20, MemTrend: "flat", Samples: 12},
			{ID: 2, Name: "cron", Status: "errored", FDs: -1, Restarts: 10},
		},
		det: map[string]tools.ProcessDetail{
			"0": {ProcessInfo: tools.ProcessInfo{ID: 0, Name: "api"}, Command: []string{"node", "server.js"}, Cwd: "/srv/api",
				History: []tools.RestartEntry{{Time: at, Cause: "max_memory 1.1G > 1G"}}, OutLog: "/l/api-out.log", ErrLog: "/l/api-err.log",
				Balancer:     &tools.BalancerInfo{InRotation: true, Active: 3, Total: 120, Requests: 950, RequestRate: 31.7, LatencyP50: 1.2, LatencyP99: 8.4},
				EventLoopLag: &tools.LagInfo{P50: 0.4, P99: 3.1, Max: 12}},
			"1": {ProcessInfo: tools.ProcessInfo{ID: 1, Name: "worker-with-a-rather-long-name"}, Command: []string{"python3", "worker.py"},
				Cwd: "/srv/w", History: []tools.RestartEntry{}, OutLog: "/l/w-out.log", ErrLog: "/l/w-err.log"},
			"2": {ProcessInfo: tools.ProcessInfo{ID: 2, Name: "cron"}, Command: []string{"false"}, Cwd: "/",
				LastExit: &supervisor.Exit{Code: 1}, History: []tools.RestartEntry{}, OutLog: "/l/c-out.log", ErrLog: "/l/c-err.log"},
		},
	}
}

var fakeLogs = map[string]string{
	"/l/api-out.log": "9T09:29:59.000000000Z partial first line\n" +
		"2026-11-27T09:29:58.000000001Z listening on :8080\n" +
		"2026-11-27T09:29:59.500000000Z GET /health 200 1ms\n" +
		"2026-11-27T09:30:01.000000000Z GET /users 200 14ms\n",
	"/l/api-err.log": "2026-11-27T09:29:59.600000000Z \x1b[33mwarn\x1b[0m slow query: 812ms\n",
	"/l/w-out.log":   "2026-11-27T09:30:00.000000000Z picked job 17\n",
}

// newTestMonit is a monit on the fake daemon, in UTC, 80×24, after n fetches.
func newTestMonit(t *testing.T, f *fakeDaemon, fetches int) *monit {
	t.Helper()
	t.Setenv("TZ", "UTC")
	m := newMonit(f, time.Second)
	m.readFile = func(p string) ([]byte, error) {
		s, ok := fakeLogs[p]
		if !ok {
			return nil, os.ErrNotExist
		}
		return []byte(s), nil
	}
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	for i := range fetches {
		// Vary the figures so the sparklines have a shape.
		f.mu.Lock()
		f.procs[0].CPU = float64(5 + 7*(i%4))
		f.procs[0].Memory = int64(70+2*i) << 20
		f.mu.Unlock()
		m.Update(m.fetch())
	}
	return m
}

func press(m *monit, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		var code rune
		switch k {
		case "down":
			code = tea.KeyDown
		case "up":
			code = tea.KeyUp
		case "esc":
			code = tea.KeyEscape
		default:
			code = []rune(k)[0]
		}
		msg := tea.KeyPressMsg{Code: code}
		if len(k) == 1 {
			msg.Text = k
		}
		_, cmd = m.Update(msg)
	}
	return cmd
}

// golden compares the view, downsampled to profile, with testdata/name.
func golden(t *testing.T, name string, m *monit, profile colorprofile.Profile) {
	t.Helper()
	var buf bytes.Buffer
	w := &colorprofile.Writer{Forward: &buf, Profile: profile}
	if _, err := w.WriteString(m.View().Content); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	if lines := strings.Count(got, "\n") + 1; lines != 24 {
		t.Errorf("%s: %d lines, want 24", name, lines)
	}
	path := filepath.Join("testdata", name+".golden")
	if *updateMonit {
		if os.Getenv("CI") != "" {
			t.Fatal("-update-monit under CI: golden files are written on a developer's machine only")
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/velos -run TestMonit -update-monit)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

func TestMonitViews(t *testing.T) {
	for _, tc := range []struct {
		name    string
		keys    []string
		profile colorprofile.Profile
	}{
		{"monit_80x24", nil, colorprofile.NoTTY},
		{"monit_80x24_ansi", nil, colorprofile.ANSI},
		{"monit_select_second", []string{"j"}, colorprofile.NoTTY},
		{"monit_select_clamped", []string{"down", "down", "down", "up"}, colorprofile.NoTTY},
		{"monit_follow", []string{"f"}, colorprofile.NoTTY},
		{"monit_help", []string{"?"}, colorprofile.NoTTY},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := snapshot()
			m := newTestMonit(t, f, 6)
			press(m, tc.keys...)
			m.Update(m.fetch()) // the new selection's details and logs
			golden(t, tc.name, m, tc.profile)
		})
	}
}

// Selecting the second process and pressing r restarts that one, by id,
// and the outcome shows in the status line.
func TestMonitRestartCallsTheSelectedProcess(t *testing.T) {
	f := snapshot()
	m := newTestMonit(t, f, 1)
	press(m, "j")
	cmd := press(m, "r")
	if cmd == nil {
		t.Fatal("r gave no command")
	}
	m.Update(cmd())
	if strings.Join(f.calls, ",") != "process_restart 1" {
		t.Fatalf("calls = %v, want process_restart 1", f.calls)
	}
	if !strings.Contains(m.View().Content, "restart worker-with-a-rather-long-name: done") {
		t.Errorf("status line missing:\n%s", m.View().Content)
	}
	m.Update(press(m, "s")())
	if f.calls[1] != "process_stop 1" {
		t.Fatalf("calls = %v", f.calls)
	}
	if press(m, "q") == nil {
		t.Fatal("q does not quit")
	}
}

// The daemon unreachable: the view says so instead of crashing.
func TestMonitShowsFetchErrors(t *testing.T) {
	m := newMonit(&fakeDaemon{}, time.Second) // no det: describe fails, metrics answers empty
	m.Update(fetchMsg{err: errors.New("daemon: connect: broken pipe")})
	if v := m.View().Content; !strings.Contains(v, "error: daemon: connect: broken pipe") || !strings.Contains(v, "q quit") {
		t.Fatalf("view:\n%s", v)
	}
}

// Against a real daemon: the monit lists CLI-started processes with
// measured memory, and r on the selected one restarts it (manual cause).
func TestMonitRealDaemonRestart(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "one", "--", "300")
	e.MustRun("start", "sleep", "--name", "two", "--", "300")
	c := &monitCaller{c: &client{home: daemon.Home{Dir: e.Home}, exe: e.Bin}}
	defer c.close()
	m := newMonit(c, time.Second)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(m.fetch())
	if len(m.procs) != 2 || m.procs[1].Memory <= 0 {
		t.Fatalf("procs = %+v", m.procs)
	}
	press(m, "j")
	msg := press(m, "r")()
	if a := msg.(actionMsg); a.err != nil || a.target != "two" {
		t.Fatalf("restart: %+v", a)
	}
	if d := describeOne(t, e, "two"); len(d.History) != 1 || d.History[0].Cause != "manual" {
		t.Fatalf("two after r: %+v", d.History)
	}
	if d := describeOne(t, e, "one"); len(d.History) != 0 {
		t.Fatalf("one was restarted too: %+v", d.History)
	}

	// The daemon killed under the dashboard: an error on screen, and no
	// daemon started again behind the user's back.
	e.MustRun("kill")
	// kill answers before the daemon has finished stopping and closed
	// its sessions; the deadline bounds that.
	var last error
	waitFor(t, "the daemon's session to end", 10*time.Second, func() bool {
		last = m.fetch().err
		return last != nil
	})
	if !errors.Is(last, errDaemon) {
		t.Fatalf("fetch after kill: %v", last)
	}
	m.Update(m.fetch())
	if !strings.Contains(m.View().Content, "error: daemon") {
		t.Errorf("view after kill:\n%s", m.View().Content)
	}
	if _, err := os.Stat(filepath.Join(e.Home, "velos.sock")); err == nil {
		t.Fatal("the dashboard started a daemon again")
	}
}
