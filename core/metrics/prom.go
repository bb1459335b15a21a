package metrics

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	rtmetrics "runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// ProcessSample is what /metrics shows for one managed process. The daemon
// builds it from the supervisor's table (name, id, instance, restarts) and
// [Sampler.Latest] (CPU, memory).
type ProcessSample struct {
	Name     string
	ID       int
	Instance int
	PID      int
	Up       bool
	// StartTime is when the current run started; zero omits the series.
	StartTime time.Time
	Restarts  int
	// CPUSeconds, RSS and Threads are summed over the process tree
	// ([Sample.CPUSeconds], [Sample.RSS], [Sample.Threads]).
	CPUSeconds float64
	RSS        uint64
	Threads    int
	// FDs < 0 means unknown and omits the series.
	FDs int
	// Balancer is what Velos's balancer measured of this instance; nil
	// when the process is not behind it.
	Balancer *BalancerSample
	// Lag is the event-loop delay a Node program reported; nil otherwise.
	Lag *LagSample
}

// BalancerSample is one instance as Velos's balancer sees it.
type BalancerSample struct {
	InRotation  bool
	Active      int64 // connections open now
	Connections int64 // connections made, since the instance started
	// HTTP/1.x: request heads seen, and time from a request head to the
	// first response byte over the last ~10 s.
	HTTP                   bool
	Requests               int64
	LatencyP50, LatencyP99 time.Duration
}

// LagSample is an event-loop delay over the last report interval.
type LagSample struct {
	P50, P99, Max time.Duration
}

// Source provides the processes to export; Processes is called on every
// scrape, from the HTTP server's goroutine, and must be safe for that.
type Source interface {
	Processes() []ProcessSample
}

// DaemonSource is optionally implemented by a [Source] to add velos_daemon_*
// series. [*Sampler] implements it, so a Source that embeds the daemon's
// *Sampler gets them for free.
type DaemonSource interface {
	Self() SelfSample
}

// A scrape is collected here — a dozen velos_* series, and the Go runtime's
// and the daemon process's under the names client_golang's collectors use —
// and written by Prometheus's own encoder (prometheus/common/expfmt, with
// the format the scraper asks for). client_golang's registry is not used:
// its package init fills a default registry (a Go and a process collector)
// in every daemon, whether metrics are served or not.

// family is one metric family of a scrape.
type family struct {
	name, help, typ string
	samples         []sample
}

// sample is one series: its labels (name, value pairs, in name order) and
// value.
type sample struct {
	labels []string
	value  float64
}

func (f *family) add(v float64, labels ...string) { f.samples = append(f.samples, sample{labels, v}) }

// processLabels are the labels of a velos_process_* series, in name order.
func processLabels(p ProcessSample) []string {
	return []string{"id", strconv.Itoa(p.ID), "instance", strconv.Itoa(p.Instance), "name", p.Name}
}

// scrape is every family of src, the daemon's Go runtime and its process.
func scrape(src Source) []*family {
	g := func(name, help string) *family { return &family{name: name, help: help, typ: "gauge"} }
	c := func(name, help string) *family { return &family{name: name, help: help, typ: "counter"} }
	var (
		cpu      = c("velos_process_cpu_seconds_total", "CPU time (user+system) of the process tree since the process started.")
		rss      = g("velos_process_resident_memory_bytes", "Resident memory of the process tree (sum over its processes).")
		restarts = c("velos_process_restarts_total", "Times the process has been restarted by velos.")
		up       = g("velos_process_up", "1 when the process is running, 0 otherwise.")
		start    = g("velos_process_start_time_seconds", "Start time of the current run, in seconds since the Unix epoch.")
		threads  = g("velos_process_threads", "Threads in the process tree.")
		fds      = g("velos_process_open_fds", "Open file descriptors in the process tree.")
		inRot    = g("velos_balancer_in_rotation", "1 when the balancer sends new connections to the instance.")
		active   = g("velos_balancer_active_connections", "Connections open through the balancer to the instance.")
		conns    = c("velos_balancer_connections_total", "Connections the balancer made to the instance since it started.")
		requests = c("velos_balancer_requests_total", "HTTP/1.x requests the balancer sent to the instance since it started.")
		// Quantiles over a recent window as gauges of their own: a summary
		// would need a sum and a count over the same window.
		latP50    = g("velos_balancer_request_latency_p50_seconds", "Median time from request head to first response byte through the balancer, over the last 10 s.")
		latP99    = g("velos_balancer_request_latency_p99_seconds", "99th percentile of the time from request head to first response byte through the balancer, over the last 10 s.")
		lagP50    = g("velos_process_event_loop_lag_p50_seconds", "Median event-loop delay a Node program reported over its last report interval.")
		lagP99    = g("velos_process_event_loop_lag_p99_seconds", "99th percentile of the event-loop delay a Node program reported over its last report interval.")
		lagMax    = g("velos_process_event_loop_lag_max_seconds", "Longest event-loop delay a Node program reported over its last report interval.")
		managed   = g("velos_daemon_managed_processes", "Processes the daemon measured in its last pass.")
		logDepth  = g("velos_daemon_log_buffer_lines", "Log lines waiting to be written.")
		sampleDur = g("velos_daemon_sample_duration_seconds", "Duration of the last measurement pass.")
	)
	for _, p := range src.Processes() {
		l := processLabels(p)
		up.add(b2f(p.Up), l...)
		restarts.add(float64(p.Restarts), l...)
		if !p.Up {
			continue // a stopped process has no CPU, memory or start time to report
		}
		cpu.add(p.CPUSeconds, l...)
		rss.add(float64(p.RSS), l...)
		threads.add(float64(p.Threads), l...)
		if p.FDs >= 0 {
			fds.add(float64(p.FDs), l...)
		}
		if !p.StartTime.IsZero() {
			start.add(float64(p.StartTime.UnixMilli())/1e3, l...)
		}
		if b := p.Balancer; b != nil {
			inRot.add(b2f(b.InRotation), l...)
			active.add(float64(b.Active), l...)
			conns.add(float64(b.Connections), l...)
			if b.HTTP {
				requests.add(float64(b.Requests), l...)
				latP50.add(b.LatencyP50.Seconds(), l...)
				latP99.add(b.LatencyP99.Seconds(), l...)
			}
		}
		if g := p.Lag; g != nil {
			lagP50.add(g.P50.Seconds(), l...)
			lagP99.add(g.P99.Seconds(), l...)
			lagMax.add(g.Max.Seconds(), l...)
		}
	}
	if ds, ok := src.(DaemonSource); ok {
		self := ds.Self()
		managed.add(float64(self.Managed))
		sampleDur.add(self.SampleDuration.Seconds())
		if self.LogBufferDepth >= 0 {
			logDepth.add(float64(self.LogBufferDepth))
		}
	}
	fams := []*family{cpu, rss, restarts, up, start, threads, fds, inRot, active, conns, requests, latP50, latP99, lagP50, lagP99, lagMax, managed, logDepth, sampleDur}
	fams = append(fams, goFamilies()...)
	return append(fams, selfFamilies()...)
}

// goFamilies are the Go runtime's series, read from runtime/metrics (no
// stop-the-world), under the names client_golang's Go collector uses.
func goFamilies() []*family {
	rm := []rtmetrics.Sample{
		{Name: "/sched/goroutines:goroutines"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/sched/gomaxprocs:threads"},
	}
	rtmetrics.Read(rm)
	val := func(i int) float64 {
		if rm[i].Value.Kind() != rtmetrics.KindUint64 {
			return 0
		}
		return float64(rm[i].Value.Uint64())
	}
	threads, _ := runtime.ThreadCreateProfile(nil)
	one := func(name, typ, help string, v float64, labels ...string) *family {
		f := &family{name: name, help: help, typ: typ}
		f.add(v, labels...)
		return f
	}
	return []*family{
		one("go_goroutines", "gauge", "Number of goroutines that currently exist.", val(0)),
		one("go_threads", "gauge", "Number of OS threads created.", float64(threads)),
		one("go_memstats_heap_alloc_bytes", "gauge", "Number of heap bytes allocated and still in use.", val(1)),
		one("go_memstats_sys_bytes", "gauge", "Number of bytes obtained from system.", val(2)),
		one("go_gc_cycles_total", "counter", "Number of completed GC cycles.", val(3)),
		one("go_sched_gomaxprocs_threads", "gauge", "The current runtime.GOMAXPROCS setting.", val(4)),
		one("go_info", "gauge", "Information about the Go environment.", 1, "version", runtime.Version()),
	}
}

// metricFamilies turns fams into Prometheus's model, sorted by name; a
// family without series is left out, as Prometheus's own registry does.
func metricFamilies(fams []*family) []*dto.MetricFamily {
	sort.Slice(fams, func(i, j int) bool { return fams[i].name < fams[j].name })
	var out []*dto.MetricFamily
	for _, f := range fams {
		if len(f.samples) == 0 {
			continue
		}
		mf := &dto.MetricFamily{Name: proto.String(f.name), Help: proto.String(f.help), Type: dto.MetricType_GAUGE.Enum()}
		if f.typ == "counter" {
			mf.Type = dto.MetricType_COUNTER.Enum()
		}
		for _, s := range f.samples {
			m := &dto.Metric{}
			for i := 0; i+1 < len(s.labels); i += 2 {
				m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(s.labels[i]), Value: proto.String(s.labels[i+1])})
			}
			if f.typ == "counter" {
				m.Counter = &dto.Counter{Value: proto.Float64(s.value)}
			} else {
				m.Gauge = &dto.Gauge{Value: proto.Float64(s.value)}
			}
			mf.Metric = append(mf.Metric, m)
		}
		out = append(out, mf)
	}
	return out
}

// writeFamilies writes fams with Prometheus's encoder in format.
func writeFamilies(w io.Writer, format expfmt.Format, fams []*family) error {
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range metricFamilies(fams) {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		return c.Close()
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// NewHandler returns an http.Handler serving src at /metrics in the
// Prometheus text exposition format: the velos_* series, the daemon's Go
// runtime (go_*) and, on Linux, its process (process_*).
func NewHandler(src Source) (http.Handler, error) {
	if src == nil {
		return nil, errors.New("metrics handler: nil source")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "GET /metrics", http.StatusMethodNotAllowed)
			return
		}
		format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultAcceptedFormats()...)
		w.Header().Set("Content-Type", string(format))
		var out io.Writer = w
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			defer zw.Close()
			out = zw
		}
		_ = writeFamilies(out, format, scrape(src)) // a write error is the scraper gone
	})
	return mux, nil
}

// ErrNotLoopback is returned by [Serve] for an address that is not loopback
// when [AllowRemote] was not given.
var ErrNotLoopback = errors.New("address is not loopback (pass AllowRemote to expose metrics off this host)")

// ServeOption configures [Serve].
type ServeOption func(*serveConfig)

type serveConfig struct{ allowRemote bool }

// AllowRemote lets [Serve] bind a non-loopback address. Metrics reveal process
// names and resource use, so exposing them is an explicit decision.
func AllowRemote() ServeOption { return func(c *serveConfig) { c.allowRemote = true } }

// Serve listens on addr and serves [NewHandler](src) until ctx is done, then
// shuts the server down (in-flight scrapes get 5 s). It returns once the
// listener is bound, with the bound address (useful with port 0).
//
// An empty host (":9615") or an empty addr (a free port) binds 127.0.0.1;
// "localhost" means 127.0.0.1. Any other host must be a loopback IP unless
// [AllowRemote] is passed.
func Serve(ctx context.Context, addr string, src Source, opts ...ServeOption) (boundAddr string, err error) {
	bound, _, err := serve(ctx, addr, src, opts...)
	return bound, err
}

// serve is [Serve] plus a channel closed when the server has fully stopped,
// which is how the tests prove nothing outlives ctx.
func serve(ctx context.Context, addr string, src Source, opts ...ServeOption) (string, <-chan struct{}, error) {
	var cfg serveConfig
	for _, o := range opts {
		o(&cfg)
	}
	addr, err := listenAddr(addr, cfg.allowRemote)
	if err != nil {
		return "", nil, err
	}
	h, err := NewHandler(src)
	if err != nil {
		return "", nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("metrics listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln) // returns http.ErrServerClosed after Shutdown
	}()
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			_ = srv.Close() // a scrape outlived the grace period
		}
		<-served
	}()
	return ln.Addr().String(), done, nil
}

// listenAddr applies the loopback defaults and policy to addr.
func listenAddr(addr string, allowRemote bool) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("metrics address %q: %w", addr, err)
	}
	switch host {
	case "", "localhost":
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	if allowRemote {
		return addr, nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return addr, nil
	}
	return "", fmt.Errorf("metrics address %q: %w", addr, ErrNotLoopback)
}
