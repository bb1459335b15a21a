// Package tools holds the contract of every Velos operation, one file per
// tool (or small family) — its input and output structs, name, CLI path,
// effect, summary, rendering hints and the hooks the CLI runs — and the one
// list of them, [All], that the CLI, the schema and doc generators and the
// evals walk. Nothing here needs the daemon's domain: the CLI links this
// package without the supervisor. The code that answers each tool in the
// daemon is in handlers/, in a file of the same name.
package tools

// ProcessInfo is one row of a process listing.
type ProcessInfo struct {
	ID       int     `json:"id" col:"ID" ai:"id,keep"`
	Name     string  `json:"name" col:"NAME"`
	Status   string  `json:"status" col:"STATUS" ai:"st" color:"status"`
	PID      int     `json:"pid" col:"PID"`
	CPU      float64 `json:"cpu" col:"CPU" fmt:"pct"`
	Memory   int64   `json:"memory" col:"MEM" ai:"mem" fmt:"bytes"`
	UptimeMS int64   `json:"uptime_ms" col:"UPTIME" ai:"up" fmt:"ms"`
	Restarts int     `json:"restarts" col:"↺" ai:"rs"`
	// Conns and ReqRate: a cluster instance behind Velos's balancer, its
	// open connections and requests per second (HTTP/1.x, last 10 s).
	Conns   int64   `json:"conns,omitempty" col:"CONNS,optional" ai:"conn"`
	ReqRate float64 `json:"req_per_s,omitempty" col:"REQ/S,optional" ai:"rps"`
	// LagMS is a Node program's event-loop lag (p99 over 5 s), in ms.
	LagMS float64 `json:"lag_ms,omitempty" col:"LAG ms,optional" ai:"lag"`
	// Reason says why the process is errored or stopped, when it is.
	Reason string `json:"reason,omitempty" col:"REASON"`
}

// Applies implements [render.Applier]: a process that is not running has no
// pid, CPU, memory or uptime to show; its status and reason say why.
func (p ProcessInfo) Applies(field string) bool {
	switch field {
	case "pid", "cpu", "memory", "uptime_ms":
		return p.PID != 0
	}
	return true
}

// TargetIn selects processes.
type TargetIn struct {
	Target string `json:"target" arg:"" brief:"name, id or all" help:"Process name, numeric id, or all."`
}

// ProcessesOut is the processes an operation touched, after it.
type ProcessesOut struct {
	Processes []ProcessInfo `json:"processes"`
	// Warnings are what the operation could not do as asked, e.g. the keys
	// of a PM2 ecosystem file Velos does not support; the CLI prints them on
	// stderr.
	Warnings []string `json:"warnings,omitempty" ai:"warn" human:"-"`
}

// CLIWarnings implements [tool.Warner].
func (o ProcessesOut) CLIWarnings() []string { return o.Warnings }

// AIValue implements render.AIValuer: --ai gives the list itself, without
// the "processes" key that every tool answering with processes would
// repeat (the tool says what the rows are) — unless there are warnings to
// say beside it.
func (o ProcessesOut) AIValue() any {
	if len(o.Warnings) > 0 {
		type plain ProcessesOut // without this method
		return plain(o)
	}
	return o.Processes
}
