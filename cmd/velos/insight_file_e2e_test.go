package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/internal/loghub"
	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

// writeLog writes lines to a file in a temp dir and returns its path.
func writeLog(t *testing.T, lines []string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fileLogs is `velos logs --file` output as JSON.
func fileLogs(t *testing.T, e *testenv.Env, args ...string) tools.LogsOut {
	t.Helper()
	var out tools.LogsOut
	s := e.MustRun(append([]string{"logs", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, s)
	}
	return out
}

// TestLogsFileDedupeAndSummary: the spec's dedupe row and summary, with
// counts known from the generated file, exactly.
func TestLogsFileDedupeAndSummary(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	first := time.Date(2024, 1, 2, 10, 5, 3, 0, time.Local)
	last := time.Date(2024, 1, 2, 10, 47, 22, 0, time.Local)
	var lines []string
	const refused = 10847
	for i := 0; i < refused; i++ {
		at := first.Add(time.Duration(int64(last.Sub(first)) * int64(i) / (refused - 1)))
		lines = append(lines, at.Format("2006-01-02 15:04:05.000")+" ERROR Connection refused")
		if i%100 == 0 {
			lines = append(lines, at.Format("2006-01-02 15:04:05.000")+fmt.Sprintf(" WARN request %d took %dms", i, 900+i%50))
		}
		if i%1000 == 0 {
			lines = append(lines, at.Format("2006-01-02 15:04:05.000")+" ERROR timeout calling payments after 30s")
		}
	}
	lines = append(lines, last.Format("2006-01-02 15:04:05.000")+" ERROR Error: connect ECONNREFUSED 10.0.0.9:5432",
		"    at Pool.connect (/app/src/db.js:42:11)", last.Format("2006-01-02 15:04:05.000")+" INFO bye")
	path := writeLog(t, lines)

	dd := e.MustRun("logs", "--file", path, "--dedupe")
	if want := "[ERROR] Connection refused (x10847, first: 10:05:03, last: 10:47:22)\n"; !strings.HasPrefix(dd, want) {
		t.Errorf("--dedupe starts\n%s\nwant\n%s", firstLines(dd, 3), want)
	}
	out := fileLogs(t, e, "--file", path, "--dedupe")
	counts := map[string]int{}
	for _, r := range out.Dedupe {
		counts[r.Text] += r.Count
	}
	if counts["Connection refused"] != refused || counts["request <*> took <*>"] != 109 || counts["timeout calling payments after <*>"] != 11 {
		t.Errorf("dedupe counts: %v", counts)
	}

	sum := e.MustRun("logs", "--file", path, "--summary")
	// Problems first, by count; the error that appears only at the end is
	// a new pattern after the warm-up: an anomaly.
	want := `errors: 10859, warnings: 109, last_error: "Error: connect ECONNREFUSED 10.0.0.9:5432 at db.js:42", patterns: [{msg:"Connection refused", count:10847}, {msg:"request <*> took <*>", count:109}, {msg:"timeout calling payments after <*>", count:11}, {msg:"Error: connect ECONNREFUSED <*>", count:1}, {msg:"bye", count:1}]
anomaly: new_error at 10:47:22`
	if !strings.HasPrefix(sum, want) {
		t.Errorf("--summary:\n%s\nwant prefix\n%s", sum, want)
	}
	if ai := e.MustRun("logs", "--file", path, "--summary", "--ai"); !strings.Contains(ai, `"errors":10859`) || !strings.Contains(ai, `"warnings":109`) {
		t.Errorf("--summary --ai: %s", ai)
	}
}

func firstLines(s string, n int) string {
	ls := strings.SplitN(s, "\n", n+1)
	return strings.Join(ls[:min(n, len(ls))], "\n")
}

// anomalyLog is 40 minutes of one error a minute among info lines, with
// spike errors in minute 30 when spike > 0.
func anomalyLog(spike int) []string {
	t0 := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	var ls []string
	for m := 0; m < 40; m++ {
		base := t0.Add(time.Duration(m) * time.Minute)
		for s := 0; s < 6; s++ {
			ls = append(ls, base.Add(time.Duration(s*10)*time.Second).Format(time.RFC3339)+fmt.Sprintf(" INFO GET /items/%d 200", m*6+s))
		}
		ls = append(ls, base.Add(5*time.Second).Format(time.RFC3339)+" ERROR upstream timeout after 5000ms")
		if m == 30 {
			for i := 0; i < spike; i++ {
				ls = append(ls, base.Add(time.Duration(i)*time.Second).Format(time.RFC3339)+fmt.Sprintf(" ERROR upstream timeout after %dms", 5000+i))
			}
		}
	}
	return ls
}

func TestLogsFileAnomalySpike(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	steady := fileLogs(t, e, "--file", writeLog(t, anomalyLog(0)), "--summary").Summary
	if steady == nil || steady.Errors != 40 || len(steady.Anomalies) != 0 {
		t.Errorf("steady 1 error/min: %+v", steady)
	}
	spiky := fileLogs(t, e, "--file", writeLog(t, anomalyLog(50)), "--summary").Summary
	if spiky == nil || spiky.Errors != 90 || len(spiky.Anomalies) != 1 {
		t.Fatalf("1/min with a 50/min spike: %+v", spiky)
	}
	a := spiky.Anomalies[0]
	if a.Kind != string(insight.KindErrorSpike) || !a.At.Equal(time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)) || a.Count != 51 || a.Baseline != 1 {
		t.Errorf("spike: %+v", a)
	}
}

// TestLogsFilePerLine: one JSON object per input line, numbered from 1, the
// variable parts as <*>; and bad input is refused.
func TestLogsFilePerLine(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	var lines []string
	for i := 0; i < 300; i++ {
		switch i % 3 {
		case 0:
			lines = append(lines, fmt.Sprintf("user u%d logged in from 10.0.%d.%d", i, i%7, i%250))
		case 1:
			lines = append(lines, fmt.Sprintf("cache miss for key item:%d after %dms", i, i%90))
		default:
			lines = append(lines, "heartbeat ok")
		}
	}
	path := writeLog(t, lines)
	out := e.MustRun("logs", "--file", path, "--patterns", "--per-line", "--json")
	rows := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(rows) != len(lines) {
		t.Fatalf("%d output lines for %d input lines", len(rows), len(lines))
	}
	want := []string{"user <*> logged in from <*>", "cache miss for key item:<*> after <*>", "heartbeat ok"}
	for i, r := range rows {
		var lt struct {
			Line     int    `json:"line"`
			Template string `json:"template"`
		}
		if err := json.Unmarshal([]byte(r), &lt); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, r)
		}
		if lt.Line != i+1 || lt.Template != want[i%3] {
			t.Fatalf("row %d = %+v, want line %d template %q", i, lt, i+1, want[i%3])
		}
	}
	// Without --json: the patterns with counts, and every line's template
	// as "N<tab>template".
	if h := e.MustRun("logs", "--file", path, "--patterns"); !strings.Contains(h, "heartbeat ok") || !strings.Contains(h, "100") {
		t.Errorf("--patterns: %s", h)
	}
	if h := e.MustRun("logs", "--file", path, "--patterns", "--per-line"); !strings.HasPrefix(h, "1\tuser <*> logged in from <*>\n2\tcache miss for key item:<*> after <*>\n3\theartbeat ok\n") ||
		strings.Count(h, "\n") != len(lines) {
		t.Errorf("--per-line for people:\n%s", firstLines(h, 4))
	}
	// Through the daemon (an MCP client): bounded like any answer.
	res, err := e.Connect(nil).CallTool(context.Background(), &mcp.CallToolParams{Name: "process_logs",
		Arguments: map[string]any{"file": path, "patterns": true, "per_line": true, "max_lines": 4}})
	if err != nil || res.IsError {
		t.Fatalf("process_logs per_line over MCP: %v %v", err, res)
	}
	var mo tools.LogsOut
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &mo); err != nil {
		t.Fatal(err)
	}
	if len(mo.Templates) != 4 || !mo.Truncated || mo.Templates[3].Line != 4 || mo.Templates[3].Template != want[0] {
		t.Errorf("per_line over MCP, max_lines 4: %+v", mo)
	}
	for _, bad := range [][]string{{"logs", "--file", filepath.Join(t.TempDir(), "missing.log"), "--summary"},
		{"logs", "--file", t.TempDir(), "--summary"}, {"logs", "--file", path, "--per-line"}} {
		if r := e.Run(bad...); r.Code == 0 || r.Stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", bad, r.Code, r.Stderr)
		}
	}
}

// TestLoghubGAThroughCLI runs each Loghub 2k dataset's messages through
// `velos logs --file … --patterns --per-line --json` and checks that the
// grouping accuracy is the library's (insight.Templates on the same lines).
// The datasets (research-only licence) stay outside the repository.
func TestLoghubGAThroughCLI(t *testing.T) {
	t.Parallel()
	sets, err := loghub.Load(loghub.Dir())
	if errors.Is(err, loghub.ErrMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	e := testenv.New(t)
	var sum float64
	var report strings.Builder
	for _, set := range sets {
		n, contents, truth := set.Name, set.Contents, set.Truth
		path := writeLog(t, contents)
		out := e.MustRun("logs", "--file", path, "--patterns", "--per-line", "--json")
		var cli []string
		sc := bufio.NewScanner(strings.NewReader(out))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var lt insight.LineTemplate
			if err := json.Unmarshal(sc.Bytes(), &lt); err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			cli = append(cli, lt.Template)
		}
		gaCLI, gaLib := insight.GroupingAccuracy(cli, truth), insight.GroupingAccuracy(insight.Templates(contents), truth)
		fmt.Fprintf(&report, "%-10s %.3f %.3f\n", n, gaCLI, gaLib)
		if gaCLI != gaLib || len(cli) != len(contents) {
			t.Errorf("%s: GA through the CLI %.3f (%d lines), library %.3f (%d lines)", n, gaCLI, len(cli), gaLib, len(contents))
		}
		sum += gaCLI
	}
	t.Logf("dataset    GA(cli) GA(lib)\n%saverage    %.3f", report.String(), sum/float64(len(sets)))
}

// patternLines is a log of made-up services with the shapes that split or
// merge patterns: host names without digits first, an optional value with
// a unit, states that differ near the end, key=value words, a rare variant.
func patternLines() []string {
	hosts := []string{"api.example.com", "cdn.example.org", "auth.test.invalid", "mail.example.net", "www.example.com", "img.corp.example.net",
		"news.example.org", "docs.example.com", "maps.test.invalid", "shop.example.net", "static.example.com", "search.example.org"}
	states := []string{"RUNNING", "FINISHED", "FAILED"}
	users := []string{"alice", "bob", "carol", "dave"}
	var ls []string
	for i := 0; i < 1500; i++ {
		h := hosts[(i*7)%len(hosts)]
		switch i % 5 {
		case 0:
			sent := (i * 37) % 4000
			s := fmt.Sprintf("%d bytes", sent)
			if sent > 1024 {
				s += fmt.Sprintf(" (%.2f KB)", float64(sent)/1024)
			}
			ls = append(ls, fmt.Sprintf("%s:443 close, %s sent, lifetime 00:%02d", h, s, i%60))
		case 1:
			ls = append(ls, fmt.Sprintf("Task attempt_%d of job job_%d changed state to %s", i, i/10, states[i%3]))
		case 2:
			ls = append(ls, fmt.Sprintf("%s resolved in %dms", h, i%300))
		case 3:
			ls = append(ls, fmt.Sprintf("session opened for user %s by (uid=%d)", users[i%4], i%1000))
		default:
			ls = append(ls, fmt.Sprintf("cache user=%s result=%s took %dms", users[i%4], []string{"hit", "miss"}[i%2], i%50))
		}
	}
	return append(ls, "session opened for user root by LOGIN(uid=0)", "all lines printed")
}

// TestPatternsLiveEqualFile: `velos logs --patterns` on a live process and
// `velos logs --file --patterns` (and --per-line) on the same lines give
// the same groups with the same counts: one engine for stream and batch.
func TestPatternsLiveEqualFile(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	lines := patternLines()
	path := writeLog(t, lines)
	e.MustRun("start", "sh", "--name", "mix", "--autorestart", "never", "--", "-c", "cat "+path+"; exec sleep 300")
	waitFor(t, "mix to print its log", 20*time.Second, func() bool {
		return strings.Contains(e.MustRun("search", "mix", "^all lines printed$", "--json"), `"total": 1`)
	})
	counts := func(ps []tools.PatternCount) map[string]int {
		m := map[string]int{}
		for _, p := range ps {
			m[p.Msg] += p.Count
		}
		return m
	}
	live := counts(fileLogs(t, e, "mix", "--patterns", "-n", "1000").Patterns)
	file := counts(fileLogs(t, e, "--file", path, "--patterns", "-n", "1000").Patterns)
	perLine := map[string]int{}
	out := e.MustRun("logs", "--file", path, "--patterns", "--per-line", "--json")
	for _, r := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var lt insight.LineTemplate
		if err := json.Unmarshal([]byte(r), &lt); err != nil {
			t.Fatalf("%v: %s", err, r)
		}
		perLine[lt.Template]++
	}
	show := func(m map[string]int) string {
		var b strings.Builder
		for k, v := range m {
			fmt.Fprintf(&b, "\n  %5d %s", v, k)
		}
		return b.String()
	}
	if !maps.Equal(live, file) || !maps.Equal(file, perLine) {
		t.Errorf("patterns differ\nlive:%s\nfile:%s\nper-line:%s", show(live), show(file), show(perLine))
	}
	// And the groups are the right ones.
	for tmpl, n := range map[string]int{
		"<*> close, <*> bytes <*> sent, lifetime <*>":    300,
		"<*> resolved in <*>":                            300,
		"Task <*> of job <*> changed state to FAILED":    100,
		"session opened for user <*> by (uid=<*>)":       300,
		"session opened for user root by LOGIN(uid=<*>)": 1,
		"cache user=<*> result=hit took <*>":             150,
	} {
		if file[tmpl] != n {
			t.Errorf("pattern %q: %d lines, want %d%s", tmpl, file[tmpl], n, show(file))
		}
	}
}
