package trace

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestEncodeDecodesWithTheOfficialTypes: what encodeRequest writes is read
// back by the generated OTLP types (opentelemetry-proto's, not ours) field
// for field.
func TestEncodeDecodesWithTheOfficialTypes(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	remote := oteltrace.NewSpanContext(oteltrace.SpanContextConfig{
		TraceID: oteltrace.TraceID{1, 2, 3}, SpanID: oteltrace.SpanID{4, 5, 6}, TraceFlags: oteltrace.FlagsSampled, Remote: true})
	link := oteltrace.NewSpanContext(oteltrace.SpanContextConfig{
		TraceID: oteltrace.TraceID{9}, SpanID: oteltrace.SpanID{8}, TraceFlags: oteltrace.FlagsSampled})
	res := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0", attribute.String("service.name", "velos"))
	stubs := tracetest.SpanStubs{
		{
			Name: "tools/call process_start", SpanKind: oteltrace.SpanKindServer,
			SpanContext: oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: oteltrace.TraceID{1, 2, 3},
				SpanID: oteltrace.SpanID{7}, TraceFlags: oteltrace.FlagsSampled}),
			Parent:    remote,
			StartTime: at, EndTime: at.Add(time.Millisecond),
			Attributes: []attribute.KeyValue{
				attribute.String("s", "x"), attribute.String("empty", ""), attribute.Int("i", -3), attribute.Int("zero", 0),
				attribute.Bool("t", true), attribute.Bool("f", false), attribute.Float64("pi", 3.25),
				attribute.StringSlice("ss", []string{"a", "b"}), attribute.Int64Slice("is", []int64{1, -2}),
			},
			Events:            []sdktrace.Event{{Name: "retry", Time: at, Attributes: []attribute.KeyValue{attribute.Int("n", 2)}}},
			Links:             []sdktrace.Link{{SpanContext: link, Attributes: []attribute.KeyValue{attribute.String("why", "cause")}}},
			Status:            sdktrace.Status{Code: codes.Error, Description: "boom"},
			DroppedAttributes: 1, DroppedEvents: 2, DroppedLinks: 3,
			Resource:             res,
			InstrumentationScope: instrumentation.Scope{Name: "github.com/velos-pm/velos", Version: "v1"},
		},
		{
			Name: "process.start", SpanKind: oteltrace.SpanKindInternal,
			SpanContext: oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: oteltrace.TraceID{5}, SpanID: oteltrace.SpanID{5}}),
			StartTime:   at, EndTime: at, Status: sdktrace.Status{Code: codes.Ok},
			Resource: res, InstrumentationScope: instrumentation.Scope{Name: "github.com/velos-pm/velos", Version: "v1"},
		},
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(encodeRequest(stubs.Snapshots()), &req); err != nil {
		t.Fatalf("the official types cannot read it: %v", err)
	}
	if len(req.ResourceSpans) != 1 || len(req.ResourceSpans[0].ScopeSpans) != 1 {
		t.Fatalf("want one resource and one scope: %v", &req)
	}
	rs := req.ResourceSpans[0]
	if rs.SchemaUrl != "https://opentelemetry.io/schemas/1.26.0" || rs.Resource.Attributes[0].Key != "service.name" ||
		rs.Resource.Attributes[0].Value.GetStringValue() != "velos" {
		t.Errorf("resource: %v", rs)
	}
	ss := rs.ScopeSpans[0]
	if ss.Scope.Name != "github.com/velos-pm/velos" || ss.Scope.Version != "v1" || len(ss.Spans) != 2 {
		t.Fatalf("scope: %v", ss)
	}
	s := ss.Spans[0]
	want := &tracepb.Span{
		TraceId: []byte{1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, SpanId: []byte{7, 0, 0, 0, 0, 0, 0, 0},
		ParentSpanId: []byte{4, 5, 6, 0, 0, 0, 0, 0}, Flags: 0x301, Name: "tools/call process_start",
		Kind: tracepb.Span_SPAN_KIND_SERVER, StartTimeUnixNano: uint64(at.UnixNano()), EndTimeUnixNano: uint64(at.Add(time.Millisecond).UnixNano()),
		Attributes: []*commonpb.KeyValue{
			kv("s", &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "x"}}),
			kv("empty", &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: ""}}),
			kv("i", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: -3}}),
			kv("zero", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 0}}),
			kv("t", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}),
			kv("f", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: false}}),
			kv("pi", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 3.25}}),
			kv("ss", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{
				{Value: &commonpb.AnyValue_StringValue{StringValue: "a"}}, {Value: &commonpb.AnyValue_StringValue{StringValue: "b"}}}}}}),
			kv("is", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{
				{Value: &commonpb.AnyValue_IntValue{IntValue: 1}}, {Value: &commonpb.AnyValue_IntValue{IntValue: -2}}}}}}),
		},
		DroppedAttributesCount: 1,
		Events: []*tracepb.Span_Event{{TimeUnixNano: uint64(at.UnixNano()), Name: "retry",
			Attributes: []*commonpb.KeyValue{kv("n", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 2}})}}},
		DroppedEventsCount: 2,
		Links: []*tracepb.Span_Link{{TraceId: []byte{9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, SpanId: []byte{8, 0, 0, 0, 0, 0, 0, 0},
			Attributes: []*commonpb.KeyValue{kv("why", &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "cause"}})}, Flags: 0x101}},
		DroppedLinksCount: 3,
		Status:            &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"},
	}
	if !proto.Equal(s, want) {
		t.Errorf("span:\n got %v\nwant %v", s, want)
	}
	if ok := ss.Spans[1]; ok.Status.GetCode() != tracepb.Status_STATUS_CODE_OK || ok.Kind != tracepb.Span_SPAN_KIND_INTERNAL || ok.ParentSpanId != nil {
		t.Errorf("second span: %v", ok)
	}
}

func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

// collector records what it was sent and answers with the statuses given,
// then 200.
type collector struct {
	mu       sync.Mutex
	statuses []int
	requests []*http.Request
	bodies   [][]byte
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = append(c.requests, r)
	c.bodies = append(c.bodies, b)
	if len(c.statuses) > 0 {
		code := c.statuses[0]
		c.statuses = c.statuses[1:]
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "0")
		}
		http.Error(w, "not now", code)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func oneSpan() []sdktrace.ReadOnlySpan {
	return tracetest.SpanStubs{{Name: "x", StartTime: time.Unix(1, 0), EndTime: time.Unix(2, 0),
		SpanContext: oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: oteltrace.TraceID{1}, SpanID: oteltrace.SpanID{1}})}}.Snapshots()
}

func TestExporterSendsAsConfigured(t *testing.T) {
	c := &collector{statuses: []int{http.StatusServiceUnavailable}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":        srv.URL + "/",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS":  "api-key=s%20ecret, x-team = ops",
		"OTEL_EXPORTER_OTLP_COMPRESSION":     "gzip",
		"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT":  "5000",
		"OTEL_EXPORTER_OTLP_CLIENT_KEY":      "",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "",
	}
	cfg, err := readExporterConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	e := newExporter(cfg)
	// A 503 is retried (after Retry-After: 0), then the export succeeds.
	if err := e.ExportSpans(context.Background(), oneSpan()); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.requests) != 2 {
		t.Fatalf("%d requests, want 2 (a 503, then the retry)", len(c.requests))
	}
	r := c.requests[1]
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" ||
		r.Header.Get("Api-Key") != "s ecret" || r.Header.Get("X-Team") != "ops" || r.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("request: %s %v", r.URL, r.Header)
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(c.bodies[1], &req); err != nil || req.ResourceSpans[0].ScopeSpans[0].Spans[0].Name != "x" {
		t.Errorf("body: %v %v", err, &req)
	}
}

func TestExporterRefusals(t *testing.T) {
	// A 400 is the collector refusing the data: no retry, an error with its message.
	c := &collector{statuses: []int{http.StatusBadRequest}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	e := newExporter(exporterConfig{url: srv.URL + "/v1/traces", timeout: 5 * time.Second})
	if err := e.ExportSpans(context.Background(), oneSpan()); err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "not now") {
		t.Fatalf("400: %v", err)
	}
	c.mu.Lock()
	n := len(c.requests)
	c.mu.Unlock()
	if n != 1 {
		t.Fatalf("a 400 was sent %d times", n)
	}
	// Variables that cannot be used are errors naming them.
	for _, bad := range []map[string]string{
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TIMEOUT": "10s"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_HEADERS": "novalue"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4318", "OTEL_EXPORTER_OTLP_CERTIFICATE": "/nonexistent/ca.pem"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4318", "OTEL_EXPORTER_OTLP_CLIENT_KEY": "/k.pem"},
	} {
		_, err := readExporterConfig(func(k string) string { return bad[k] })
		if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_") {
			t.Errorf("%v: %v", bad, err)
		}
	}
	// After Shutdown nothing is sent.
	_ = e.Shutdown(context.Background())
	if err := e.ExportSpans(context.Background(), oneSpan()); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.requests) != 1 {
		t.Fatal("an export after Shutdown was sent")
	}
}
