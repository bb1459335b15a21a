package tools

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/velos-pm/velos/core/metrics"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tool"
)

// MetricsServeIn says where the daemon serves /metrics.
type MetricsServeIn struct {
	Port        int    `json:"port,omitempty" default:"9615" brief:"-" help:"TCP port for /metrics; 0 picks a free one."`
	Address     string `json:"address,omitempty" default:"127.0.0.1" brief:"-" help:"Interface to bind; anything but loopback also needs allow_remote."`
	AllowRemote bool   `json:"allow_remote,omitempty" brief:"allow a non-loopback address" help:"Allow a non-loopback address: metrics reveal process names and resource use."`
}

// MetricsServeOut is where /metrics is served.
type MetricsServeOut struct {
	URL string `json:"url"`
	// Already is true when the daemon was serving before this call; the
	// address asked for is then ignored (one endpoint per daemon).
	Already bool `json:"already,omitempty"`
}

// MetricsServe is metrics_serve.
var MetricsServe = &tool.Def[MetricsServeIn, MetricsServeOut]{
	Name: "metrics_serve", CLI: "metrics serve", Title: "Serve Prometheus metrics", Effect: tool.Mutating, Idempotent: true,
	Default: true, // velos metrics --port 9615, as the product description writes it
	Summary: "Serve Prometheus /metrics: per-process CPU, memory, restarts, up.",
	Run: func(ctx context.Context, d *tool.Deps, in MetricsServeIn) (MetricsServeOut, error) {
		if d.Endpoint == nil {
			return MetricsServeOut{}, fmt.Errorf("metrics serve: this daemon cannot serve metrics")
		}
		if in.Port < 0 || in.Port > 65535 {
			return MetricsServeOut{}, fmt.Errorf("metrics serve: port %d: want 0-65535", in.Port)
		}
		if in.Address == "" {
			in.Address = "127.0.0.1"
		}
		var opts []metrics.ServeOption
		if in.AllowRemote {
			opts = append(opts, metrics.AllowRemote())
		}
		bound, already, err := d.Endpoint.Serve(net.JoinHostPort(in.Address, strconv.Itoa(in.Port)), opts...)
		if errors.Is(err, metrics.ErrNotLoopback) {
			return MetricsServeOut{}, fmt.Errorf("metrics serve: %s is not a loopback address; add --allow-remote (allow_remote) to expose metrics off this host", in.Address)
		}
		if err != nil {
			return MetricsServeOut{}, fmt.Errorf("metrics serve: %w", err)
		}
		return MetricsServeOut{URL: "http://" + bound + "/metrics", Already: already}, nil
	},
}

// MetricsSource is the daemon's [metrics.Source]: the supervisor's table
// joined with the sampler's latest pass. Embedding the sampler adds the
// velos_daemon_* series.
func MetricsSource(d *tool.Deps) metrics.Source { return metricsSource{d.Metrics, d} }

type metricsSource struct {
	*metrics.Sampler
	d *tool.Deps
}

func (s metricsSource) Processes() []metrics.ProcessSample {
	ins := s.d.Procs.List()
	out := make([]metrics.ProcessSample, 0, len(ins))
	for _, in := range ins {
		p := metrics.ProcessSample{Name: in.Name, ID: in.ID, Instance: in.Instance, PID: in.PID,
			Restarts: in.Restarts, FDs: -1}
		if in.PID != 0 {
			p.StartTime = in.StartedAt
		}
		// Up comes from the supervisor, which knows at once; the figures from
		// the last pass, when it measured this very run.
		p.Up = in.Status == supervisor.Online && in.PID != 0
		if smp, ok := s.Latest(MetricKey(in.ID)); ok && smp.Alive && smp.PID == in.PID && in.PID != 0 {
			p.CPUSeconds, p.RSS, p.Threads, p.FDs = smp.CPUSeconds, smp.RSS, smp.Threads, smp.FDs
		}
		out = append(out, p)
	}
	return out
}
