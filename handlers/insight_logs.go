package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/core/logs"
	"github.com/velos-pm/velos/tools"
)

// runInsightLogs answers process_logs when in asks for the engine
// (tools.InsightMode): for a file as the CLI does itself, for processes
// from the log store.
func runInsightLogs(ctx context.Context, d *Deps, in tools.LogsIn) (tools.LogsOut, error) {
	if in.File != "" {
		return tools.FileLogs(ctx, in)
	}
	since, until, grep, err := tools.EngineInput(in, time.Now())
	if err != nil {
		return tools.LogsOut{}, err
	}
	infos, err := targetInfos(d, in.Target)
	if err != nil {
		return tools.LogsOut{}, fmt.Errorf("logs: %w", err)
	}
	keepSecretsIf(ctx, infos)
	a := insight.NewAnalyzer(insight.Options{Source: in.Target})
	q := logs.Query{Names: logNames(infos), Since: since, Until: until, Grep: grep}
	if err := scanLogs(ctx, d.Logs, q, func(l logs.Line) error { a.Add(insightLine(l)); return nil }); err != nil {
		return tools.LogsOut{}, fmt.Errorf("logs %s: %w", in.Target, err)
	}
	a.Flush()
	return tools.EngineAnswer(in, a, in.Target, since, until, restartsIn(infos, since, until)), nil
}
