package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/velos-pm/velos/core/trace/otlptest"
	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

// runEnv is testenv's Run with extra environment: the daemon the command
// autostarts inherits it, which is how users configure monitoring
// (VELOS_SAMPLE_INTERVAL, VELOS_METRICS_ADDR, OTEL_*).
func runEnv(t *testing.T, e *testenv.Env, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.Bin, args...)
	cmd.Env = append(append(os.Environ(), "VELOS_HOME="+e.Home, "NO_COLOR=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("velos %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func describeOne(t *testing.T, e *testenv.Env, name string) tools.ProcessDetail {
	t.Helper()
	var out tools.DescribeOut
	if err := json.Unmarshal([]byte(e.MustRun("describe", name, "--json")), &out); err != nil || len(out.Processes) != 1 {
		t.Fatalf("describe %s: %v %+v", name, err, out)
	}
	return out.Processes[0]
}

// A python3 child that allocates 20 MB more every 200 ms is restarted when
// its tree stays above --max-memory 60M, and the cause says so.
func TestMaxMemoryRestartsAGrowingProcess(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not on PATH:", err)
	}
	e := testenv.New(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "grow.py")
	if err := os.WriteFile(script, []byte("import time\nkeep = []\nwhile True:\n    keep.append(b'x' * (20 << 20))\n    time.sleep(0.2)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runEnv(t, e, []string{"VELOS_SAMPLE_INTERVAL=200ms"}, "start", "python3", "--name", "hog", "--max-memory", "60M", "--", script)
	waitFor(t, "a max_memory restart", 20*time.Second, func() bool {
		return len(describeOne(t, e, "hog").History) > 0
	})
	d := describeOne(t, e, "hog")
	cause := d.History[0].Cause
	if !strings.HasPrefix(cause, "max_memory ") || !strings.HasSuffix(cause, " > 60M") {
		t.Fatalf("restart cause = %q, want max_memory <rss> > 60M (history %+v)", cause, d.History)
	}
	if d.Status != "online" || d.Restarts < 1 {
		t.Fatalf("after the restart: %+v", d.ProcessInfo)
	}
}

// metrics serve: the daemon serves /metrics; the scrape passes promtool and
// the Go text parser and has every velos series for two CLI-started processes.
func TestMetricsServeScrape(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "api", "--", "300")
	e.MustRun("start", "sh", "--name", "worker", "--", "-c", "sleep 300 & sleep 300")
	e.MustRun("metrics", "show", "all") // makes the sampler measure both now

	var out tools.MetricsServeOut
	if err := json.Unmarshal([]byte(e.MustRun("metrics", "serve", "--port", "0", "--json")), &out); err != nil || out.Already {
		t.Fatalf("metrics serve: %v %+v", err, out)
	}
	var again tools.MetricsServeOut
	if err := json.Unmarshal([]byte(e.MustRun("metrics", "serve", "--port", "0", "--json")), &again); err != nil || !again.Already || again.URL != out.URL {
		t.Fatalf("second metrics serve = %+v, want already serving %s", again, out.URL)
	}
	if r := e.Run("metrics", "serve", "--address", "0.0.0.0"); r.Code != 1 || !strings.Contains(r.Stderr, "--allow-remote") {
		t.Fatalf("non-loopback without --allow-remote: exit %d, stderr %q", r.Code, r.Stderr)
	}

	resp, err := http.Get(out.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape: %v %d", err, resp.StatusCode)
	}

	if promtool, err := exec.LookPath("promtool"); err != nil {
		t.Log("promtool not installed (Debian: apt-get install prometheus); skipping its check")
	} else {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, msg)
		}
	}

	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("expfmt: %v\n%s", err, body)
	}
	for _, name := range []string{"velos_process_cpu_seconds_total", "velos_process_resident_memory_bytes",
		"velos_process_restarts_total", "velos_process_up", "velos_process_start_time_seconds", "velos_process_threads"} {
		f := fams[name]
		if f == nil {
			t.Errorf("no %s", name)
			continue
		}
		seen := map[string]float64{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" {
					v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
					seen[l.GetValue()] = v
				}
			}
		}
		if _, ok := seen["api"]; !ok {
			t.Errorf("%s lacks api: %v", name, seen)
		}
		if _, ok := seen["worker"]; !ok {
			t.Errorf("%s lacks worker: %v", name, seen)
		}
		switch name {
		case "velos_process_up":
			if seen["api"] != 1 || seen["worker"] != 1 {
				t.Errorf("up = %v", seen)
			}
		case "velos_process_resident_memory_bytes":
			if seen["api"] <= 0 || seen["worker"] <= seen["api"] { // worker is a tree of three
				t.Errorf("rss = %v, want worker's tree above api", seen)
			}
		}
	}
	for _, name := range []string{"velos_daemon_managed_processes", "velos_daemon_sample_duration_seconds", "process_resident_memory_bytes", "go_goroutines"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
}

// With OTEL_EXPORTER_OTLP_ENDPOINT in the daemon's environment, starting a
// process and killing it with SIGKILL exports the tool call, the start, the
// crash and the restart with its cause over OTLP/HTTP.
func TestOTelTracesLifecycle(t *testing.T) {
	t.Parallel()
	rcv := otlptest.New()
	defer rcv.Close()
	e := testenv.New(t)
	runEnv(t, e, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + rcv.URL(), "OTEL_BSP_SCHEDULE_DELAY=50"},
		"start", "sleep", "--name", "victim", "--", "300")
	pid := describeOne(t, e, "victim").PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	has := func(spans []otlptest.Span, name string, attrs map[string]any) *otlptest.Span {
		for i, s := range spans {
			if s.Name != name {
				continue
			}
			ok := true
			for k, v := range attrs {
				ok = ok && s.Attrs[k] == v
			}
			if ok {
				return &spans[i]
			}
		}
		return nil
	}
	spans, err := rcv.Wait(15*time.Second, func(spans []otlptest.Span) bool {
		return has(spans, "process.restart", map[string]any{"velos.restart.cause": "SIGKILL"}) != nil
	})
	if err != nil {
		t.Fatal(err)
	}
	call := has(spans, "tools/call process_start", map[string]any{"gen_ai.tool.name": "process_start", "mcp.method.name": "tools/call"})
	if call == nil || call.Resource["service.name"] != "velos" || call.Error {
		t.Errorf("tool span = %+v", call)
	}
	start := has(spans, "process.start", map[string]any{"velos.process.name": "victim", "process.executable.name": "sleep", "process.pid": int64(pid)})
	if start == nil {
		t.Errorf("no process.start for victim pid %d: %+v", pid, spans)
	}
	crash := has(spans, "process.crash", map[string]any{"velos.process.name": "victim", "process.exit.code": int64(-1), "velos.exit.signal": "SIGKILL"})
	if crash == nil || !crash.Error {
		t.Errorf("crash span = %+v (all: %+v)", crash, spans)
	}
	restart := has(spans, "process.restart", map[string]any{"velos.restart.cause": "SIGKILL", "process.executable.name": "sleep"})
	if restart == nil || restart.Attrs["velos.backoff.delay_ms"] == nil || restart.Attrs["process.pid"] == int64(pid) {
		t.Errorf("restart span = %+v", restart)
	}
}
