package tools_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tools"
)

// TestHumanListAndDescribe holds the human views of processes that are not
// running — stopped, errored, waiting — to golden files (go test ./tools
// -run TestHumanListAndDescribe -update rewrites them): labels from the
// column names, nothing shown that does not apply (no pid, memory or uptime;
// the reason instead), relative times on a terminal. Not parallel: it sets
// time.Local.
func TestHumanListAndDescribe(t *testing.T) {
	local := time.Local
	time.Local = time.FixedZone("UTC+2", 2*3600)
	t.Cleanup(func() { time.Local = local })

	now := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	rows := []tools.ProcessInfo{
		{ID: 0, Name: "api", Status: "online", PID: 4242, CPU: 12.5, Memory: 45 << 20, UptimeMS: 3 * 3600e3, Restarts: 1},
		{ID: 1, Name: "worker", Status: "stopped", Reason: ""},
		{ID: 2, Name: "cron", Status: "errored", Restarts: 10, Reason: "crash loop: 10 restarts in 1m0s, last exit 3"},
		{ID: 3, Name: "flaky", Status: "waiting", Restarts: 2, Reason: "exit 1; restart in 3s"},
	}
	list := tools.ProcessesOut{Processes: rows}
	errored := tools.ProcessDetail{ProcessInfo: rows[2], Command: []string{"node", "cron job.js", "--at", "it's"}, Cwd: "/srv/cron",
		Autorestart: "always", KillTimeout: "5s", StartedAt: now.Add(-90 * time.Second),
		LastExit: &supervisor.Exit{Code: 3, Uptime: 200 * time.Millisecond},
		History:  []tools.RestartEntry{{Time: now.Add(-80 * time.Second), Cause: "exit 3"}, {Time: now.Add(-75 * time.Second), Cause: "exit 3"}},
		OutLog:   "/home/u/.velos/logs/cron-out.log", ErrLog: "/home/u/.velos/logs/cron-err.log"}
	waiting := tools.ProcessDetail{ProcessInfo: rows[3], Command: []string{"python3", "flaky.py"}, Cwd: "/srv",
		Autorestart: "on-failure", KillTimeout: "5s", StartedAt: now.Add(-10 * time.Second), NextStart: now.Add(3 * time.Second),
		LastExit: &supervisor.Exit{Code: 1, Uptime: 7 * time.Second}, History: []tools.RestartEntry{{Time: now.Add(-20 * time.Second), Cause: "manual"}},
		OutLog: "/home/u/.velos/logs/flaky-out.log", ErrLog: "/home/u/.velos/logs/flaky-err.log"}
	stopped := tools.ProcessDetail{ProcessInfo: rows[1], Command: []string{"./worker"}, Cwd: "/srv", Autorestart: "always", KillTimeout: "5s",
		StartedAt: now.Add(-2 * time.Hour), LastExit: &supervisor.Exit{Code: -1, Signal: "SIGTERM", Uptime: time.Hour},
		History: []tools.RestartEntry{}, OutLog: "/home/u/.velos/logs/worker-out.log", ErrLog: "/home/u/.velos/logs/worker-err.log"}
	describe := tools.DescribeOut{Processes: []tools.ProcessDetail{errored, waiting, stopped}}

	tty := render.Options{TTY: true, Now: now}
	cases := []struct {
		name string
		v    any
		opt  render.Options
	}{
		{"list_human_tty", list, tty},
		{"list_human_pipe", list, render.Options{Now: now}},
		{"describe_human_tty", describe, tty},
		{"describe_human_pipe", describe, render.Options{Now: now}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := render.Write(&b, render.Human, c.v, c.opt); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				if _, err := os.Stat(golden); err != nil && os.Getenv("CI") != "" {
					t.Fatalf("%s is missing; not creating it under CI", golden)
				}
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./tools -run TestHumanListAndDescribe -update)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s:\n got:\n%s\nwant:\n%s", c.name, b.String(), want)
			}
		})
	}
}
