package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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

// collector turns a Source into series at scrape time, so /metrics is exactly
// as fresh as the last sampler pass and no gauge vectors need updating.
type collector struct {
	src Source

	cpu, rss, restarts, up, start, threads, fds *prometheus.Desc
	managed, logDepth, sampleDur                *prometheus.Desc
}

func newCollector(src Source) *collector {
	l := []string{"name", "id", "instance"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &collector{
		src:       src,
		cpu:       d("velos_process_cpu_seconds_total", "CPU time (user+system) of the process tree since the process started.", l),
		rss:       d("velos_process_resident_memory_bytes", "Resident memory of the process tree (sum over its processes).", l),
		restarts:  d("velos_process_restarts_total", "Times the process has been restarted by velos.", l),
		up:        d("velos_process_up", "1 when the process is running, 0 otherwise.", l),
		start:     d("velos_process_start_time_seconds", "Start time of the current run, in seconds since the Unix epoch.", l),
		threads:   d("velos_process_threads", "Threads in the process tree.", l),
		fds:       d("velos_process_open_fds", "Open file descriptors in the process tree.", l),
		managed:   d("velos_daemon_managed_processes", "Processes the daemon measured in its last pass.", nil),
		logDepth:  d("velos_daemon_log_buffer_lines", "Log lines waiting to be written.", nil),
		sampleDur: d("velos_daemon_sample_duration_seconds", "Duration of the last measurement pass.", nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.cpu, c.rss, c.restarts, c.up, c.start, c.threads, c.fds, c.managed, c.logDepth, c.sampleDur} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	emit := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(d, t, v, labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(d, fmt.Errorf("metric %s: %w", d, err))
		}
		ch <- m
	}
	for _, p := range c.src.Processes() {
		l := []string{p.Name, strconv.Itoa(p.ID), strconv.Itoa(p.Instance)}
		emit(c.up, prometheus.GaugeValue, b2f(p.Up), l...)
		emit(c.restarts, prometheus.CounterValue, float64(p.Restarts), l...)
		if !p.Up {
			continue // a stopped process has no CPU, memory or start time to report
		}
		emit(c.cpu, prometheus.CounterValue, p.CPUSeconds, l...)
		emit(c.rss, prometheus.GaugeValue, float64(p.RSS), l...)
		emit(c.threads, prometheus.GaugeValue, float64(p.Threads), l...)
		if p.FDs >= 0 {
			emit(c.fds, prometheus.GaugeValue, float64(p.FDs), l...)
		}
		if !p.StartTime.IsZero() {
			emit(c.start, prometheus.GaugeValue, float64(p.StartTime.UnixMilli())/1e3, l...)
		}
	}
	if ds, ok := c.src.(DaemonSource); ok {
		self := ds.Self()
		emit(c.managed, prometheus.GaugeValue, float64(self.Managed))
		emit(c.sampleDur, prometheus.GaugeValue, self.SampleDuration.Seconds())
		if self.LogBufferDepth >= 0 {
			emit(c.logDepth, prometheus.GaugeValue, float64(self.LogBufferDepth))
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// NewHandler returns an http.Handler serving src at /metrics in the
// Prometheus exposition format, from a registry of its own (never the global
// default, so nothing leaks between daemons in one test binary) holding the
// Go runtime and process collectors for the daemon and the velos_* series.
func NewHandler(src Source) (http.Handler, error) {
	if src == nil {
		return nil, errors.New("metrics handler: nil source")
	}
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newCollector(src),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics handler: register collector: %w", err)
		}
	}
	mux := http.NewServeMux()
	// ContinueOnError: one bad series (say two processes reported under the
	// same labels) should not blank the whole scrape.
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
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
