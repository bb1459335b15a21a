package tools

import (
	"time"

	"github.com/velos-pm/velos/core/spec"
	"github.com/velos-pm/velos/tool"
)

// DescribeIn names one process.
type DescribeIn struct {
	Target string `json:"target" arg:"" brief:"name or id" help:"Process name or numeric id."`
}

// ProcessDetail is everything about one process.
type ProcessDetail struct {
	ProcessInfo
	Command     []string          `json:"command" fmt:"argv"`
	Cwd         string            `json:"cwd"`
	Env         map[string]string `json:"env,omitempty"`
	Instance    int               `json:"instance,omitempty"`
	Autorestart string            `json:"autorestart"`
	KillTimeout string            `json:"kill_timeout"`
	StartedAt   time.Time         `json:"started_at,omitzero"`
	NextStart   time.Time         `json:"next_start,omitzero"`
	NextCron    time.Time         `json:"next_cron,omitzero"` // the next cron_restart, if any
	LastExit    *spec.Exit        `json:"last_exit,omitempty"`
	// Notice is the last STATUS= the program sent (sd_notify).
	Notice string `json:"notice,omitempty"`
	// Listen is the address Velos holds for the process's instances and
	// Balance how they share it; Port is this instance's PORT.
	Listen  string `json:"listen,omitempty"`
	Balance string `json:"balance,omitempty"`
	Port    int    `json:"port,omitempty"`
	// Balancer is what Velos's balancer saw of this instance.
	Balancer *BalancerInfo `json:"balancer,omitempty"`
	// Watch is what a change of restarts the process.
	Watch []string `json:"watch,omitempty"`
	// EventLoopLag is what a Node program's event loop was late by, over
	// the last 5 s.
	EventLoopLag *LagInfo       `json:"event_loop_lag,omitempty"`
	History      []RestartEntry `json:"restart_history"`
	OutLog       string         `json:"out_log"`
	ErrLog       string         `json:"err_log"`
	// LogErrors say which of its logs cannot be written now (a full disk):
	// its lines are being dropped.
	LogErrors []string `json:"log_errors,omitempty"`
}

// BalancerInfo is one instance as Velos's balancer sees it: connections,
// and for HTTP/1.x requests, their rate and latency (last 10 s).
type BalancerInfo struct {
	InRotation  bool    `json:"in_rotation"`
	Active      int64   `json:"active_connections"`
	Total       int64   `json:"total_connections"`
	Requests    int64   `json:"requests,omitempty"`
	RequestRate float64 `json:"requests_per_s,omitempty"`
	LatencyP50  float64 `json:"latency_p50_ms,omitempty"`
	LatencyP99  float64 `json:"latency_p99_ms,omitempty"`
}

// LagInfo is an event-loop delay: median, 99th percentile and maximum.
type LagInfo struct {
	P50 float64 `json:"p50_ms" col:"P50"`
	P99 float64 `json:"p99_ms" col:"P99"`
	Max float64 `json:"max_ms" col:"MAX"`
}

// RestartEntry is one restart and its cause.
type RestartEntry struct {
	Time  time.Time `json:"time" col:"TIME"`
	Cause string    `json:"cause" col:"CAUSE"`
}

// DescribeOut describes the processes a target selects (several for a cluster).
type DescribeOut struct {
	Processes []ProcessDetail `json:"processes" human:"blocks"`
}

// Describe is process_describe.
var Describe = &tool.Def[DescribeIn, DescribeOut]{
	Name: "process_describe", CLI: "describe", Aliases: []string{"show"}, Title: "Describe a process", Effect: tool.ReadOnly,
	Summary: "One process in full: command, env, policy, last exit, restart causes, log files.",
}
