package trace_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/core/trace"
	"github.com/velos-pm/velos/core/trace/otlptest"
)

func TestEnabled(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
		{map[string]string{"OTEL_SERVICE_NAME": "x"}, false},
	} {
		if got := trace.Enabled(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("Enabled(%v) = %v, want %v", tc.env, got, tc.want)
		}
	}
}

// An unconfigured daemon gets a nil tracer whose methods are no-ops.
func TestNotConfiguredIsNil(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tr, err := trace.New(t.Context(), trace.Options{})
	if tr != nil || err != nil {
		t.Fatalf("New without endpoint = %v, %v; want nil, nil", tr, err)
	}
	ctx, end := tr.ToolCall(t.Context(), "process_list")
	end(nil)
	tr.OnEvent(supervisor.Event{Kind: supervisor.EventStarted})
	if ctx != t.Context() || tr.Shutdown(t.Context()) != nil {
		t.Fatal("nil tracer is not a no-op")
	}
}

func find(spans []otlptest.Span, name string, match func(otlptest.Span) bool) *otlptest.Span {
	for i := range spans {
		if spans[i].Name == name && (match == nil || match(spans[i])) {
			return &spans[i]
		}
	}
	return nil
}

// Real children under a real Manager: a start, a crash with its backoff and
// the restart that follows, a manual restart with its cause, a stop, and a
// tool call, all exported over OTLP/HTTP to an in-process receiver.
func TestLifecycleAndToolSpans(t *testing.T) {
	rcv := otlptest.New()
	defer rcv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL())
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")

	var m *supervisor.Manager
	tr, err := trace.New(t.Context(), trace.Options{Version: "v9", List: func() []supervisor.Info { return m.List() }})
	if err != nil || tr == nil {
		t.Fatalf("New: %v, %v", tr, err)
	}
	m = supervisor.NewManager(supervisor.Options{OnEvent: tr.OnEvent})
	// Crashes once (the marker file does not exist yet), then sleeps.
	dir := t.TempDir()
	if _, err := m.Start(supervisor.Spec{Name: "flaky", Cwd: dir,
		Command: []string{"sh", "-c", "if [ -e ran ]; then exec sleep 300; fi; touch ran; exit 3"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for m.List()[0].Restarts < 1 || m.List()[0].Status != supervisor.Online {
		if ctx.Err() != nil {
			t.Fatalf("no restart after the crash: %+v", m.List())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := m.Restart(ctx, "flaky", supervisor.Cause("max_memory 70M > 60M")); err != nil {
		t.Fatal(err)
	}
	_, end := tr.ToolCall(ctx, "process_stop")
	_, err = m.Stop(ctx, "flaky")
	end(errors.New("boom"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	spans := rcv.Spans()

	start := find(spans, "process.start", nil)
	if start == nil || start.Attrs["process.executable.name"] != "sh" || start.Attrs["velos.process.name"] != "flaky" ||
		start.Attrs["process.pid"] == nil {
		t.Fatalf("process.start = %+v\nall: %+v", start, spans)
	}
	if start.Resource["service.name"] != "velos" || start.Resource["service.version"] != "v9" ||
		start.Resource["deployment.environment.name"] != "test" {
		t.Errorf("resource = %v", start.Resource)
	}
	crash := find(spans, "process.crash", nil)
	if crash == nil || !crash.Error || crash.Attrs["process.exit.code"] != int64(3) || crash.Attrs["velos.backoff.delay_ms"] == nil {
		t.Errorf("process.crash = %+v", crash)
	}
	after := find(spans, "process.restart", func(s otlptest.Span) bool { return s.Attrs["velos.restart.cause"] == "exit 3" })
	if after == nil || after.Attrs["velos.backoff.delay_ms"] == nil || after.Start.Before(crash.Start) {
		t.Errorf("restart after crash = %+v", after)
	}
	manual := find(spans, "process.restart", func(s otlptest.Span) bool { return s.Attrs["velos.restart.cause"] == "max_memory 70M > 60M" })
	if manual == nil {
		t.Errorf("no process.restart with the max_memory cause: %+v", spans)
	}
	if stop := find(spans, "process.stop", nil); stop == nil || stop.Attrs["process.exit.code"] == nil {
		t.Errorf("process.stop = %+v", stop)
	}
	call := find(spans, "tools/call process_stop", nil)
	if call == nil || !call.Error || call.Message != "boom" || call.Attrs["gen_ai.tool.name"] != "process_stop" ||
		call.Attrs["mcp.method.name"] != "tools/call" {
		t.Errorf("tool span = %+v", call)
	}
}
