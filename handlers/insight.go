package handlers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/core/logs"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tools"
)

// targetInfos returns the processes a target (name, id, all) selects, in
// list order.
func targetInfos(d *Deps, target string) ([]supervisor.Info, error) {
	return d.Procs.Select(target)
}

func logNames(infos []supervisor.Info) []string {
	names := make([]string, len(infos))
	for i, in := range infos {
		names[i] = in.LogName()
	}
	return names
}

// keepSecretsIf tells the caller not to redact when every process shown
// opted out of redaction (VELOS_REDACT=0 in its env).
func keepSecretsIf(ctx context.Context, infos []supervisor.Info) {
	for _, in := range infos {
		if !tool.OptedOut(in.Spec.Env) {
			return
		}
	}
	if len(infos) > 0 {
		tool.KeepSecrets(ctx)
	}
}

// scanPage is how many lines one store query returns while scanning a
// range: memory stays bounded however big the logs are.
const scanPage = 4096

// scanLogs calls fn for every line q selects, in time order, reading the
// store a page at a time with its cursor. Records that continue a line
// longer than logs.MaxLineBytes are skipped: the head carries the meaning.
func scanLogs(ctx context.Context, st *logs.Store, q logs.Query, fn func(logs.Line) error) error {
	if st == nil {
		return errors.New("no log store")
	}
	q.Lines, q.MaxLines, q.MaxBytes = -1, scanPage, -1
	for {
		res, err := st.Query(ctx, q)
		if err != nil {
			return err
		}
		for _, l := range res.Lines {
			if l.Continued {
				continue
			}
			if err := fn(l); err != nil {
				return err
			}
		}
		if !res.Truncated || res.Cursor == "" {
			return ctx.Err()
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		q.Cursor = res.Cursor
	}
}

// insightLine is a stored line as the insight engine reads it: without
// terminal colours, which would split tokens and cost an agent for nothing.
func insightLine(l logs.Line) insight.Line {
	return insight.Line{Time: l.Time, Stream: l.Stream.String(), Text: logs.StripANSI(l.Text)}
}

// minLevel parses a level name ("" for none) as a lower bound.
func minLevel(s string) (insight.Level, error) {
	if s == "" {
		return insight.LevelUnknown, nil
	}
	l, ok := insight.ParseLevel(s)
	if !ok {
		return 0, fmt.Errorf("level %q: want debug, info, warn, error or fatal", s)
	}
	return l, nil
}

// analyze feeds the lines of infos in [since, until) to a new Analyzer.
func analyze(ctx context.Context, d *Deps, source string, infos []supervisor.Info, since, until time.Time) (*insight.Analyzer, error) {
	a := insight.NewAnalyzer(insight.Options{Source: source})
	q := logs.Query{Names: logNames(infos), Since: since, Until: until}
	err := scanLogs(ctx, d.Logs, q, func(l logs.Line) error {
		a.Add(insightLine(l))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read logs of %s: %w", source, err)
	}
	a.Flush()
	return a, nil
}

// summarize builds the digest of infos' logs in [since, until).
func summarize(ctx context.Context, d *Deps, target string, infos []supervisor.Info, since, until time.Time) (tools.LogSummary, error) {
	a, err := analyze(ctx, d, target, infos, since, until)
	if err != nil {
		return tools.LogSummary{}, err
	}
	return tools.DigestSummary(target, a, since, until, restartsIn(infos, since, until)), nil
}

func restartsIn(infos []supervisor.Info, since, until time.Time) []tools.RestartEntry {
	out := []tools.RestartEntry{}
	for _, in := range infos {
		for _, r := range in.History {
			if tools.InRange(r.Time, since, until) {
				out = append(out, tools.RestartEntry(r))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}
