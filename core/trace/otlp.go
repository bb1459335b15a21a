package trace

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The OTLP/HTTP trace exporter. The OpenTelemetry Go exporter
// (otlptracehttp) links gRPC, grpc-gateway and the protobuf runtime — its
// config package and the collector's generated service share a package with
// the gRPC stubs — about 130 packages and 6 MB that a daemon exporting over
// HTTP never runs. This one writes the few OTLP messages a trace export
// holds in the protobuf wire format directly (field numbers from
// opentelemetry-proto, trace/v1, common/v1, resource/v1), and reads the
// standard OTEL_EXPORTER_OTLP_* variables. Tests decode what it sends with
// the official generated types (core/trace/otlptest).

// exporterConfig is what the OTEL_EXPORTER_OTLP_* variables ask for.
type exporterConfig struct {
	url         string
	headers     map[string]string
	timeout     time.Duration
	compression string // "gzip" or ""
	tls         *tls.Config
}

// getenvTraces reads OTEL_EXPORTER_OTLP_TRACES_<key>, else
// OTEL_EXPORTER_OTLP_<key>.
func getenvTraces(getenv func(string) string, key string) string {
	if v := getenv("OTEL_EXPORTER_OTLP_TRACES_" + key); v != "" {
		return v
	}
	return getenv("OTEL_EXPORTER_OTLP_" + key)
}

// readExporterConfig reads the exporter's variables as the OpenTelemetry
// specification defines them; a value that cannot be used is an error
// naming the variable.
func readExporterConfig(getenv func(string) string) (exporterConfig, error) {
	c := exporterConfig{timeout: 10 * time.Second}
	if u := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); u != "" {
		c.url = u // used as given, path included
	} else if base := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); base != "" {
		c.url = strings.TrimSuffix(base, "/") + "/v1/traces"
	}
	u, err := url.Parse(c.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT %q: want an http:// or https:// URL", c.url)
	}
	if h := getenvTraces(getenv, "HEADERS"); h != "" {
		c.headers = map[string]string{}
		for _, kv := range strings.Split(h, ",") {
			k, v, ok := strings.Cut(kv, "=")
			k, _ = url.PathUnescape(strings.TrimSpace(k))
			v, _ = url.PathUnescape(strings.TrimSpace(v))
			if !ok || k == "" {
				return c, fmt.Errorf("OTEL_EXPORTER_OTLP_HEADERS: %q is not key=value", kv)
			}
			c.headers[k] = v
		}
	}
	if t := getenvTraces(getenv, "TIMEOUT"); t != "" {
		ms, err := strconv.Atoi(t)
		if err != nil || ms <= 0 {
			return c, fmt.Errorf("OTEL_EXPORTER_OTLP_TIMEOUT %q: want milliseconds", t)
		}
		c.timeout = time.Duration(ms) * time.Millisecond
	}
	switch comp := getenvTraces(getenv, "COMPRESSION"); comp {
	case "", "none":
	case "gzip":
		c.compression = "gzip"
	default:
		return c, fmt.Errorf("OTEL_EXPORTER_OTLP_COMPRESSION %q: want gzip or none", comp)
	}
	ca, cert, key := getenvTraces(getenv, "CERTIFICATE"), getenvTraces(getenv, "CLIENT_CERTIFICATE"), getenvTraces(getenv, "CLIENT_KEY")
	if ca != "" || cert != "" || key != "" {
		c.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		if ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				return c, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return c, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE %s: no PEM certificate in it", ca)
			}
			c.tls.RootCAs = pool
		}
		if (cert == "") != (key == "") {
			return c, errors.New("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY go together")
		}
		if cert != "" {
			pair, err := tls.LoadX509KeyPair(cert, key)
			if err != nil {
				return c, fmt.Errorf("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE/KEY: %w", err)
			}
			c.tls.Certificates = []tls.Certificate{pair}
		}
	}
	return c, nil
}

// exporter is an [sdktrace.SpanExporter] posting OTLP/HTTP protobuf.
type exporter struct {
	cfg    exporterConfig
	client *http.Client

	mu     sync.Mutex
	closed bool
}

func newExporter(cfg exporterConfig) *exporter {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.tls != nil {
		tr.TLSClientConfig = cfg.tls
	}
	return &exporter{cfg: cfg, client: &http.Client{Transport: tr}}
}

// ExportSpans implements [sdktrace.SpanExporter]: one request, retried
// (as the OTLP specification asks) while the collector answers 429, 502, 503
// or 504, within the export timeout.
func (e *exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed || len(spans) == 0 {
		return nil
	}
	body := encodeRequest(spans)
	ctx, cancel := context.WithTimeout(ctx, e.cfg.timeout)
	defer cancel()
	if e.cfg.compression == "gzip" {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = b.Bytes()
	}
	wait := 500 * time.Millisecond
	for {
		retry, after, err := e.post(ctx, body)
		if !retry {
			return err
		}
		if after > 0 {
			wait = after
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("otlp export to %s: %w (last: %w)", e.cfg.url, ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// post sends one request; retry says whether the answer asks to try again,
// after (from Retry-After) how long.
func (e *exporter) post(ctx context.Context, body []byte) (retry bool, after time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.url, bytes.NewReader(body))
	if err != nil {
		return false, 0, fmt.Errorf("otlp export: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if e.cfg.compression == "gzip" {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range e.cfg.headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return ctx.Err() == nil, 0, fmt.Errorf("otlp export to %s: %w", e.cfg.url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	switch {
	case resp.StatusCode/100 == 2:
		return false, 0, nil
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusBadGateway,
		resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusGatewayTimeout:
		s, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return true, time.Duration(s) * time.Second, fmt.Errorf("otlp export to %s: %s", e.cfg.url, resp.Status)
	}
	return false, 0, fmt.Errorf("otlp export to %s: %s: %s", e.cfg.url, resp.Status, bytes.TrimSpace(msg))
}

// Shutdown implements [sdktrace.SpanExporter].
func (e *exporter) Shutdown(context.Context) error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.client.CloseIdleConnections()
	return nil
}

// The protobuf wire format, as much of it as OTLP traces use.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// pb appends protobuf fields to a buffer.
type pb []byte

func (b pb) tag(field, wire int) pb { return binary.AppendUvarint(b, uint64(field)<<3|uint64(wire)) }

func (b pb) varint(field int, v uint64) pb {
	if v == 0 {
		return b // proto3: a zero scalar is not written
	}
	return binary.AppendUvarint(b.tag(field, wireVarint), v)
}

func (b pb) fixed64(field int, v uint64) pb {
	if v == 0 {
		return b
	}
	return binary.LittleEndian.AppendUint64(b.tag(field, wireFixed64), v)
}

func (b pb) fixed32(field int, v uint32) pb {
	if v == 0 {
		return b
	}
	return binary.LittleEndian.AppendUint32(b.tag(field, wireFixed32), v)
}

func (b pb) bytes(field int, v []byte) pb {
	if len(v) == 0 {
		return b
	}
	return append(binary.AppendUvarint(b.tag(field, wireBytes), uint64(len(v))), v...)
}

func (b pb) str(field int, s string) pb {
	if s == "" {
		return b
	}
	return append(binary.AppendUvarint(b.tag(field, wireBytes), uint64(len(s))), s...)
}

// msg appends an embedded message, written by fn, as field.
func (b pb) msg(field int, fn func(pb) pb) pb {
	return b.bytes(field, fn(nil))
}

// encodeRequest is an ExportTraceServiceRequest holding spans, grouped by
// resource and instrumentation scope as OTLP wants.
func encodeRequest(spans []sdktrace.ReadOnlySpan) []byte {
	type scopeKey struct {
		res                   *resource.Resource
		name, version, schema string
		attrs                 attribute.Distinct
	}
	var order []scopeKey
	byScope := map[scopeKey][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		sc := s.InstrumentationScope()
		k := scopeKey{s.Resource(), sc.Name, sc.Version, sc.SchemaURL, sc.Attributes.Equivalent()}
		if _, ok := byScope[k]; !ok {
			order = append(order, k)
		}
		byScope[k] = append(byScope[k], s)
	}
	var out pb
	var resources []*resource.Resource
	for _, k := range order {
		if len(resources) == 0 || resources[len(resources)-1] != k.res {
			resources = append(resources, k.res)
		}
	}
	for _, res := range resources {
		out = out.msg(1, func(rs pb) pb { // ResourceSpans
			rs = rs.msg(1, func(r pb) pb { return attrs(r, 1, res.Attributes()) }) // Resource
			for _, k := range order {
				if k.res != res {
					continue
				}
				group := byScope[k]
				rs = rs.msg(2, func(ss pb) pb { // ScopeSpans
					scope := group[0].InstrumentationScope()
					ss = ss.msg(1, func(is pb) pb { // InstrumentationScope
						is = is.str(1, scope.Name).str(2, scope.Version)
						return attrs(is, 3, scope.Attributes.ToSlice())
					})
					for _, s := range group {
						ss = ss.msg(2, func(sp pb) pb { return span(sp, s) })
					}
					return ss.str(3, scope.SchemaURL)
				})
			}
			return rs.str(3, res.SchemaURL())
		})
	}
	return out
}

// span writes one Span message.
func span(b pb, s sdktrace.ReadOnlySpan) pb {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = b.bytes(1, tid[:]).bytes(2, sid[:]).str(3, sc.TraceState().String())
	flags := uint32(sc.TraceFlags()) | 0x100 // SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE
	if p := s.Parent(); p.IsValid() {
		psid := p.SpanID()
		b = b.bytes(4, psid[:])
		if p.IsRemote() {
			flags |= 0x200 // SPAN_FLAGS_CONTEXT_IS_REMOTE
		}
	}
	b = b.str(5, s.Name()).varint(6, uint64(s.SpanKind())) // the SpanKind values are OTLP's
	b = b.fixed64(7, uint64(s.StartTime().UnixNano())).fixed64(8, uint64(s.EndTime().UnixNano()))
	b = attrs(b, 9, s.Attributes()).varint(10, uint64(s.DroppedAttributes()))
	for _, ev := range s.Events() {
		b = b.msg(11, func(e pb) pb {
			e = e.fixed64(1, uint64(ev.Time.UnixNano())).str(2, ev.Name)
			return attrs(e, 3, ev.Attributes).varint(4, uint64(ev.DroppedAttributeCount))
		})
	}
	b = b.varint(12, uint64(s.DroppedEvents()))
	for _, l := range s.Links() {
		b = b.msg(13, func(m pb) pb {
			ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
			m = m.bytes(1, ltid[:]).bytes(2, lsid[:]).str(3, l.SpanContext.TraceState().String())
			m = attrs(m, 4, l.Attributes).varint(5, uint64(l.DroppedAttributeCount))
			lf := uint32(l.SpanContext.TraceFlags()) | 0x100
			if l.SpanContext.IsRemote() {
				lf |= 0x200
			}
			return m.fixed32(6, lf)
		})
	}
	b = b.varint(14, uint64(s.DroppedLinks()))
	if st := s.Status(); st.Code != codes.Unset {
		b = b.msg(15, func(m pb) pb {
			code := uint64(2) // STATUS_CODE_ERROR
			if st.Code == codes.Ok {
				code = 1
			}
			return m.str(2, st.Description).varint(3, code)
		})
	}
	return b.fixed32(16, flags)
}

// attrs writes each attribute as a KeyValue in field.
func attrs(b pb, field int, kvs []attribute.KeyValue) pb {
	for _, kv := range kvs {
		b = b.msg(field, func(m pb) pb {
			return m.str(1, string(kv.Key)).msg(2, func(v pb) pb { return anyValue(v, kv.Value) })
		})
	}
	return b
}

// anyValue writes an AnyValue's oneof. Zero values are written too: a
// oneof member is present even when zero.
func anyValue(b pb, v attribute.Value) pb {
	switch v.Type() {
	case attribute.BOOL:
		x := uint64(0)
		if v.AsBool() {
			x = 1
		}
		return binary.AppendUvarint(b.tag(2, wireVarint), x)
	case attribute.INT64:
		return binary.AppendUvarint(b.tag(3, wireVarint), uint64(v.AsInt64()))
	case attribute.FLOAT64:
		return binary.LittleEndian.AppendUint64(b.tag(4, wireFixed64), math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		s := v.AsString()
		return append(binary.AppendUvarint(b.tag(1, wireBytes), uint64(len(s))), s...)
	case attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE, attribute.STRINGSLICE:
		var elems []attribute.Value
		switch v.Type() {
		case attribute.BOOLSLICE:
			for _, x := range v.AsBoolSlice() {
				elems = append(elems, attribute.BoolValue(x))
			}
		case attribute.INT64SLICE:
			for _, x := range v.AsInt64Slice() {
				elems = append(elems, attribute.Int64Value(x))
			}
		case attribute.FLOAT64SLICE:
			for _, x := range v.AsFloat64Slice() {
				elems = append(elems, attribute.Float64Value(x))
			}
		default:
			for _, x := range v.AsStringSlice() {
				elems = append(elems, attribute.StringValue(x))
			}
		}
		arr := pb(nil)
		for _, el := range elems {
			arr = arr.msg(1, func(a pb) pb { return anyValue(a, el) })
		}
		return append(binary.AppendUvarint(b.tag(5, wireBytes), uint64(len(arr))), arr...) // ArrayValue, even empty
	}
	s := v.String()
	return append(binary.AppendUvarint(b.tag(1, wireBytes), uint64(len(s))), s...)
}
