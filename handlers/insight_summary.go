package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/velos-pm/velos/tools"
)

// LogSummaryTool answers log_summary.
var LogSummaryTool = Bind(tools.LogSummaryTool, func(ctx context.Context, d *Deps, in tools.SummaryIn) (tools.LogSummary, error) {
	return logSummary(ctx, d, in.Target, in.RangeIn)
})

// logSummary is log_summary, and process_logs with summary set.
func logSummary(ctx context.Context, d *Deps, target string, r tools.RangeIn) (tools.LogSummary, error) {
	since, until, err := r.Bounds(time.Now())
	if err != nil {
		return tools.LogSummary{}, fmt.Errorf("summary %s: %w", target, err)
	}
	infos, err := targetInfos(d, target)
	if err != nil {
		return tools.LogSummary{}, fmt.Errorf("summary: %w", err)
	}
	keepSecretsIf(ctx, infos)
	return summarize(ctx, d, target, infos, since, until)
}
