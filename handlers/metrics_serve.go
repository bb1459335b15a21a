package handlers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/velos-pm/velos/core/metrics"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tools"
)

// MetricsServe answers metrics_serve.
var MetricsServe = Bind(tools.MetricsServe, func(ctx context.Context, d *Deps, in tools.MetricsServeIn) (tools.MetricsServeOut, error) {
	if d.Endpoint == nil {
		return tools.MetricsServeOut{}, fmt.Errorf("metrics serve: this daemon cannot serve metrics")
	}
	if in.Port < 0 || in.Port > 65535 {
		return tools.MetricsServeOut{}, fmt.Errorf("metrics serve: port %d: want 0-65535", in.Port)
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
		return tools.MetricsServeOut{}, fmt.Errorf("metrics serve: %s is not a loopback address; add --allow-remote (allow_remote) to expose metrics off this host", in.Address)
	}
	if err != nil {
		return tools.MetricsServeOut{}, fmt.Errorf("metrics serve: %w", err)
	}
	return tools.MetricsServeOut{URL: "http://" + bound + "/metrics", Already: already}, nil
})

// MetricsSource is the daemon's [metrics.Source]: the supervisor's table
// joined with the sampler's latest pass. Embedding the sampler adds the
// velos_daemon_* series.
func MetricsSource(d *Deps) metrics.Source { return metricsSource{d.Metrics, d} }

type metricsSource struct {
	*metrics.Sampler
	d *Deps
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
		if b, ok := backendStats(s.d, in); ok {
			p.Balancer = &metrics.BalancerSample{InRotation: b.InRotation, Active: b.Active, Connections: b.Total,
				HTTP: b.HTTP, Requests: b.Requests, LatencyP50: b.LatencyP50, LatencyP99: b.LatencyP99}
		}
		if l := in.Lag; l != nil && p.Up {
			p.Lag = &metrics.LagSample{P50: l.P50, P99: l.P99, Max: l.Max}
		}
		out = append(out, p)
	}
	return out
}
