package tools

import (
	"github.com/velos-pm/velos/tool"
)

// MetricsServeIn says where the daemon serves /metrics.
type MetricsServeIn struct {
	Port        int    `json:"port,omitempty" default:"9615" brief:"-" help:"TCP port for /metrics; 0 picks a free one."`
	Address     string `json:"address,omitempty" default:"127.0.0.1" brief:"-" help:"Interface to bind; anything but loopback also needs allow_remote."`
	AllowRemote bool   `json:"allow_remote,omitempty" brief:"-" help:"Allow a non-loopback address: metrics reveal process names and resource use."`
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
	Summary: "Serve Prometheus /metrics for every process.",
}
