// Package trace exports what the daemon does as OpenTelemetry traces over
// OTLP/HTTP: a span per MCP tool call and per lifecycle change of a managed
// process (start, restart with its cause, crash with its backoff, stop, exit).
//
// It is configured only by the standard environment variables
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, the
// exporter's OTEL_EXPORTER_OTLP_{HEADERS,TIMEOUT,COMPRESSION,CERTIFICATE,
// CLIENT_CERTIFICATE,CLIENT_KEY} and their TRACES_ forms, and the batch
// processor's OTEL_BSP_*). When neither endpoint is set, [New] returns a nil
// *Tracer, whose methods do nothing: no provider, exporter, goroutine or
// connection exists, and this package holds no package-level state, so an
// unconfigured daemon pays only for the otel packages' own (small) init.
// The exporter is this package's own (otlp.go): the OpenTelemetry one links
// gRPC.
package trace

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/velos-pm/velos/core/supervisor"
)

// Attribute keys Velos adds to the semantic conventions' process.* ones.
const (
	KeyProcessName  = attribute.Key("velos.process.name")
	KeyProcessID    = attribute.Key("velos.process.id")
	KeyRestartCause = attribute.Key("velos.restart.cause")
	KeyBackoff      = attribute.Key("velos.backoff.delay_ms")
	KeySignal       = attribute.Key("velos.exit.signal")
	KeyUptime       = attribute.Key("velos.uptime_ms")
	KeyReason       = attribute.Key("velos.reason")
	// The MCP and GenAI conventions for a tool call.
	KeyMCPMethod   = attribute.Key("mcp.method.name")
	KeyToolName    = attribute.Key("gen_ai.tool.name")
	KeyGenAIOpName = attribute.Key("gen_ai.operation.name")
)

// Enabled reports whether getenv (os.Getenv in the daemon) asks for trace
// export: an OTLP endpoint is set and neither OTEL_SDK_DISABLED=true nor
// OTEL_TRACES_EXPORTER=none turns it off.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Options configure a [Tracer].
type Options struct {
	// Version is the daemon's, as service.version.
	Version string
	// Log receives export errors and dropped events (discarded when nil).
	Log *slog.Logger
	// List returns the supervisor's table; it enriches lifecycle spans with
	// the executable and restart cause. It is called from the tracer's own
	// goroutine, never from inside an OnEvent callback.
	List func() []supervisor.Info
}

// Tracer turns tool calls and supervisor events into spans. A nil *Tracer is
// valid and does nothing.
type Tracer struct {
	tp      *sdktrace.TracerProvider
	tr      oteltrace.Tracer
	list    func() []supervisor.Info
	log     *slog.Logger
	events  chan event
	quit    chan struct{}
	done    chan struct{}
	dropped atomic.Int64
	stop    sync.Once
}

// event is a supervisor event stamped when it happened, so spans carry the
// right time even when the tracer's goroutine is behind.
type event struct {
	supervisor.Event
	at time.Time
}

// New starts trace export when the process environment configures it (see
// [Enabled]; the exporter reads the other OTEL_* variables itself), and
// returns nil, nil when it does not. Errors of the exporter later on go to
// opts.Log.
func New(ctx context.Context, opts Options) (*Tracer, error) {
	if !Enabled(os.Getenv) {
		return nil, nil
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if p := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"); p == "" {
		if p = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"); p != "" && p != "http/protobuf" {
			log.Warn("otel: only http/protobuf is supported; exporting with it", "asked", p)
		}
	}
	// Exporter failures (collector down) must not reach stdout or stderr,
	// which a stdio MCP bridge may share: they go to the daemon log.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("otel", "err", err) }))
	cfg, err := readExporterConfig(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	exp := newExporter(cfg)
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("velos"), semconv.ServiceVersion(opts.Version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		return nil, fmt.Errorf("trace: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)) // OTEL_BSP_* apply
	t := &Tracer{
		tp: tp, tr: tp.Tracer("github.com/velos-pm/velos", oteltrace.WithInstrumentationVersion(opts.Version)),
		list: opts.List, log: log,
		events: make(chan event, 256), quit: make(chan struct{}), done: make(chan struct{}),
	}
	go t.run()
	return t, nil
}

// Shutdown stops taking events, turns those queued into spans and flushes
// every span to the collector, within ctx.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.stop.Do(func() { close(t.quit) })
	select {
	case <-t.done:
	case <-ctx.Done():
	}
	if n := t.dropped.Load(); n > 0 {
		t.log.Warn("otel: lifecycle events dropped (queue full)", "count", n)
	}
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("trace: shutdown: %w", err)
	}
	return nil
}

// ToolCall starts the span of one MCP tool call; end records its outcome.
// It has the signature of tool.Deps.Trace.
func (t *Tracer) ToolCall(ctx context.Context, name string) (context.Context, func(error)) {
	if t == nil {
		return ctx, func(error) {}
	}
	ctx, span := t.tr.Start(ctx, "tools/call "+name, oteltrace.WithSpanKind(oteltrace.SpanKindServer),
		oteltrace.WithAttributes(KeyMCPMethod.String("tools/call"), KeyToolName.String(name), KeyGenAIOpName.String("execute_tool")))
	return ctx, func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
			span.SetAttributes(semconv.ErrorTypeKey.String("tool_error"))
		}
		span.End()
	}
}

// OnEvent takes one supervisor event; it never blocks (a full queue drops
// the event and counts it), so it fits supervisor.Options.OnEvent.
func (t *Tracer) OnEvent(e supervisor.Event) {
	if t == nil {
		return
	}
	select {
	case <-t.quit:
	case t.events <- event{e, time.Now()}:
	default:
		t.dropped.Add(1)
	}
}

// proc is what the tracer remembers of one process between its events.
type proc struct {
	exe     string
	pid     int
	started time.Time // of the current run, as the tracer saw it
	down    time.Time // when the last run ended (crash or stop)
	crash   *event    // the crash the next start recovers from
}

func (t *Tracer) run() {
	defer close(t.done)
	procs := map[int]*proc{}
	for {
		select {
		case e := <-t.events:
			t.handle(procs, e)
		case <-t.quit:
			for {
				select {
				case e := <-t.events:
					t.handle(procs, e)
				default:
					return
				}
			}
		}
	}
}

func (t *Tracer) info(id int) (supervisor.Info, bool) {
	if t.list == nil {
		return supervisor.Info{}, false
	}
	for _, in := range t.list() {
		if in.ID == id {
			return in, true
		}
	}
	return supervisor.Info{}, false
}

// handle turns one event into spans:
//
//	started  → process.start, or process.restart (from the end of the last
//	           run to now) with velos.restart.cause when the supervisor
//	           recorded a restart since the previous start
//	crashed  → process.crash (error), with the exit and the backoff delay
//	exited   → process.exit (error when the process ends errored)
//	stopped  → process.stop
//	deleted  → process.delete
func (t *Tracer) handle(procs map[int]*proc, e event) {
	p := procs[e.ID]
	if p == nil {
		p = &proc{}
		procs[e.ID] = p
	}
	attrs := []attribute.KeyValue{KeyProcessName.String(e.Name), KeyProcessID.Int(e.ID)}
	if e.Kind == supervisor.EventStarted {
		p.pid = e.PID
	}
	if p.pid != 0 {
		attrs = append(attrs, semconv.ProcessPID(p.pid))
	}
	var cause string
	if e.Kind == supervisor.EventStarted {
		if in, ok := t.info(e.ID); ok {
			if len(in.Spec.Command) > 0 {
				p.exe = filepath.Base(in.Spec.Command[0])
			}
		}
		cause = e.Cause
	}
	if p.exe != "" {
		attrs = append(attrs, semconv.ProcessExecutableName(p.exe))
	}
	if e.Exit != nil {
		attrs = append(attrs, semconv.ProcessExitCode(e.Exit.Code), KeyUptime.Int64(e.Exit.Uptime.Milliseconds()))
		if e.Exit.Signal != "" {
			attrs = append(attrs, KeySignal.String(e.Exit.Signal))
		}
	}
	if e.Reason != "" {
		attrs = append(attrs, KeyReason.String(e.Reason))
	}
	instant := func(name string, status codes.Code, desc string, attrs []attribute.KeyValue) {
		_, span := t.tr.Start(context.Background(), name, oteltrace.WithTimestamp(e.at), oteltrace.WithAttributes(attrs...))
		if status != codes.Unset {
			span.SetStatus(status, desc)
		}
		span.End(oteltrace.WithTimestamp(e.at))
	}
	switch e.Kind {
	case supervisor.EventStarted:
		first := p.started.IsZero()
		p.started = e.at
		if first || cause == "" {
			instant("process.start", codes.Unset, "", attrs)
			break
		}
		from := p.down
		if from.IsZero() || from.After(e.at) {
			from = e.at
		}
		attrs = append(attrs, KeyRestartCause.String(cause))
		if p.crash != nil {
			attrs = append(attrs, KeyBackoff.Int64(p.crash.Delay.Milliseconds()))
		}
		_, span := t.tr.Start(context.Background(), "process.restart", oteltrace.WithTimestamp(from), oteltrace.WithAttributes(attrs...))
		span.End(oteltrace.WithTimestamp(e.at))
		p.crash = nil
	case supervisor.EventCrashed:
		p.down, p.crash = e.at, &e
		instant("process.crash", codes.Error, exitString(e.Exit), append(attrs, KeyBackoff.Int64(e.Delay.Milliseconds())))
	case supervisor.EventExited:
		p.down, p.crash = e.at, nil
		status, desc := codes.Unset, ""
		if e.Reason != "" || (e.Exit != nil && e.Exit.Failed()) {
			status, desc = codes.Error, firstOf(e.Reason, exitString(e.Exit))
		}
		instant("process.exit", status, desc, attrs)
	case supervisor.EventStopped:
		p.down, p.crash = e.at, nil
		instant("process.stop", codes.Unset, "", attrs)
	case supervisor.EventDeleted:
		instant("process.delete", codes.Unset, "", attrs)
		delete(procs, e.ID)
	}
}

func exitString(e *supervisor.Exit) string {
	if e == nil {
		return ""
	}
	return e.String()
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
