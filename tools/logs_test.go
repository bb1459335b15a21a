package tools_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tools"
)

// TestLogsRender holds process_logs' three views to golden files
// (go test ./tools -run TestLogsRender -update rewrites them). Not
// parallel: it sets time.Local so the human view's local times are fixed.
func TestLogsRender(t *testing.T) {
	local := time.Local
	time.Local = time.FixedZone("UTC+2", 2*3600)
	t.Cleanup(func() { time.Local = local })

	at := time.Date(2026, 1, 15, 10, 0, 1, 123456789, time.UTC)
	oneProcess := tools.LogsOut{Lines: []tools.LogLine{
		{Time: at, Name: "api", Stream: "out", Text: "GET /health 200"},
		{Time: at.Add(time.Millisecond), Name: "api", Stream: "err", Text: "\x1b[31mERROR\x1b[0m db timeout"},
		{Time: at.Add(2 * time.Millisecond), Name: "api", Stream: "out", Text: strings.Repeat("x", 10)},
		{Time: at.Add(2*time.Millisecond + 1), Name: "api", Stream: "out", Text: "…continued", Continued: true},
	}, Cursor: "Y3Vyc29y"}
	mixed := tools.LogsOut{Lines: []tools.LogLine{
		{Time: at, Name: "api", Stream: "out", Text: "up"},
		{Time: at.Add(24 * time.Hour), Name: "worker-1", Stream: "err", Text: "boom"},
	}, Truncated: true, Cursor: "bW9yZQ"}
	cases := []struct {
		name string
		v    tools.LogsOut
		mode render.Mode
		opt  render.Options
	}{
		{"logs_pipe", oneProcess, render.Human, render.Options{}},
		{"logs_tty_color", oneProcess, render.Human, render.Options{TTY: true, Color: true}},
		{"logs_ai", oneProcess, render.AI, render.Options{}},
		{"logs_mixed_pipe", mixed, render.Human, render.Options{}},
		{"logs_mixed_ai", mixed, render.AI, render.Options{}},
		{"logs_empty_ai", tools.LogsOut{Lines: []tools.LogLine{}}, render.AI, render.Options{}},
		{"logs_empty_pipe", tools.LogsOut{Lines: []tools.LogLine{}}, render.Human, render.Options{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := render.Write(&b, c.mode, c.v, c.opt); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				if _, err := os.Stat(golden); err != nil && os.Getenv("CI") != "" {
					t.Fatalf("%s is missing; not creating it under CI", golden)
				}
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./tools -run TestLogsRender -update)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s:\n got: %q\nwant: %q", c.name, b.String(), want)
			}
		})
	}
}
