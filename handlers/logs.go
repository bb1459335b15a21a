package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/velos-pm/velos/tools"
)

// Logs answers process_logs.
var Logs = Bind(tools.Logs, runLogs)

// LogNames are the log names a target selects: its processes' (each
// instance of a cluster has its own), or "all" for every process with logs.
// An unknown target is the supervisor's error, which lists the known names.
func LogNames(d *Deps, target string) ([]string, error) {
	if target == "all" {
		return []string{"all"}, nil
	}
	ins, err := d.Procs.Select(target)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ins))
	for i, in := range ins {
		names[i] = in.LogName()
	}
	return names, nil
}

func runLogs(ctx context.Context, d *Deps, in tools.LogsIn) (tools.LogsOut, error) {
	if in.Target == "" && in.File == "" {
		in.Target = "all"
	}
	if tools.InsightMode(in) {
		return runInsightLogs(ctx, d, in)
	}
	q, _, err := tools.LogsQuery(in, time.Now())
	if err != nil {
		return tools.LogsOut{}, fmt.Errorf("logs: %w", err)
	}
	if q.Names, err = LogNames(d, in.Target); err != nil {
		return tools.LogsOut{}, fmt.Errorf("logs: %w", err)
	}
	res, err := d.Logs.Query(ctx, q)
	if err != nil {
		return tools.LogsOut{}, fmt.Errorf("logs %s: %w", in.Target, err)
	}
	out := tools.LogsOut{Lines: make([]tools.LogLine, 0, len(res.Lines)), Truncated: res.Truncated, Cursor: res.Cursor}
	for _, l := range res.Lines {
		out.Lines = append(out.Lines, tools.LogLine{Time: l.Time, Name: l.Name, Stream: l.Stream.String(), Text: l.Text, Continued: l.Continued})
	}
	return out, nil
}
