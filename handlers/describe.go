package handlers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tools"
)

// Describe answers process_describe.
var Describe = Bind(tools.Describe, func(ctx context.Context, d *Deps, in tools.DescribeIn) (tools.DescribeOut, error) {
	ins, err := d.Procs.Select(in.Target)
	if err != nil {
		return tools.DescribeOut{}, fmt.Errorf("describe: %w", err)
	}
	out := tools.DescribeOut{Processes: []tools.ProcessDetail{}}
	sampleIfStale(ctx, d, ins, 0) // a process restarted a moment ago has no figures yet
	now := time.Now()
	for _, in := range ins {
		det := tools.ProcessDetail{ProcessInfo: processInfo(d, in, now), Command: in.Spec.Command, Cwd: in.Spec.Cwd,
			Env: in.Spec.Env, Instance: in.Instance, Autorestart: string(in.Spec.Autorestart),
			KillTimeout: in.Spec.KillTimeout.String(), StartedAt: in.StartedAt, NextStart: in.NextStart,
			LastExit: in.LastExit, History: []tools.RestartEntry{}, Notice: in.Notice, Listen: in.Listen,
			Balance: in.Balance, Port: in.Port, Watch: in.Spec.Watch, EventLoopLag: lagInfo(in.Lag),
			OutLog: filepath.Join(d.Home, "logs", in.LogName()+"-out.log"),
			ErrLog: filepath.Join(d.Home, "logs", in.LogName()+"-err.log")}
		if d.Cron != nil {
			det.NextCron, _ = d.Cron.Next(in.Name)
		}
		if s, ok := backendStats(d, in); ok {
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			det.Balancer = &tools.BalancerInfo{InRotation: s.InRotation, Active: s.Active, Total: s.Total,
				Requests: s.Requests, RequestRate: s.RequestRate, LatencyP50: ms(s.LatencyP50), LatencyP99: ms(s.LatencyP99)}
		}
		for _, r := range in.History {
			det.History = append(det.History, tools.RestartEntry(r))
		}
		det.LogErrors = logWriteProblems(d, in.LogName())
		out.Processes = append(out.Processes, det)
	}
	return out, nil
})

func lagInfo(l *supervisor.Lag) *tools.LagInfo {
	if l == nil {
		return nil
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return &tools.LagInfo{P50: ms(l.P50), P99: ms(l.P99), Max: ms(l.Max)}
}

// logWriteProblems says which logs of a process cannot be written now, in
// a few words each: "out log not written: no space left on device (1213
// lines dropped since 14:02:03Z)".
func logWriteProblems(d *Deps, logName string) []string {
	if d.Logs == nil {
		return nil
	}
	var out []string
	for _, we := range d.Logs.WriteErrors(logName) {
		cause := we.Err
		var pe *fs.PathError
		if errors.As(cause, &pe) {
			cause = pe.Err // the path is out_log/err_log
		}
		out = append(out, fmt.Sprintf("%s log not written: %v (%s dropped since %s)", we.Stream, cause,
			plural(int(we.Dropped), "line"), we.Since.UTC().Format("15:04:05Z")))
	}
	return out
}
