package tools

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/core/logs"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tool"
)

// This file holds what the insight tools (log_search, log_summary,
// process_health_summary) and process_logs' --dedupe/--summary share:
// time ranges, paging through the log store, and the digest.

// RangeIn is a time range over a process's logs. Times are as
// [logs.ParseTime] reads them.
type RangeIn struct {
	Since string `json:"since,omitempty" brief:"RFC 3339 time or age, e.g. 2h" help:"Start of the range (inclusive): a time (2024-01-15 10:00, RFC 3339) or a duration before now (30m, 2h, 1d)."`
	Until string `json:"until,omitempty" brief:"-" help:"End of the range (exclusive): a time or a duration before now."`
	// Last is the CLI's --last: Prepare ([prepareRange]) makes it since, which
	// takes an age too, so MCP has one argument for the start, as
	// process_logs.
	Last string `json:"-" help:"The last DURATION (15m, 1h, 1d): the same as --since DURATION."`
}

// prepareRange turns the CLI's --last into since, and refuses both.
func prepareRange(r *RangeIn) error {
	if r.Last == "" {
		return nil
	}
	if r.Since != "" {
		return errors.New("give --since or --last, not both")
	}
	if _, err := parseAge(r.Last); err != nil {
		return fmt.Errorf("--last %q: %w", r.Last, err)
	}
	r.Since, r.Last = r.Last, ""
	return nil
}

// bounds parses the range relative to now.
func (r RangeIn) bounds(now time.Time) (since, until time.Time, err error) {
	s, what := r.Since, "since"
	if r.Last != "" {
		if s != "" {
			return since, until, errors.New("give since or last, not both")
		}
		// A duration is read by ParseTime as "that long before now".
		if _, err := time.ParseDuration(strings.TrimRight(r.Last, "dw") + "s"); err != nil && !strings.ContainsAny(r.Last, "hms") {
			return since, until, fmt.Errorf("last %q: want a duration like 15m, 1h or 1d", r.Last)
		}
		s, what = r.Last, "last"
	}
	if s != "" {
		if since, err = logs.ParseTime(s, now); err != nil {
			return since, until, fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := r.until(now, &until); err != nil {
		return since, until, err
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return since, until, fmt.Errorf("since %s is not before until %s", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	return since, until, nil
}

func (r RangeIn) until(now time.Time, until *time.Time) error {
	if r.Until == "" {
		return nil
	}
	t, err := logs.ParseTime(r.Until, now)
	if err != nil {
		return fmt.Errorf("until: %w", err)
	}
	*until = t
	return nil
}

// targetInfos returns the processes a target (name, id, all) selects, in
// list order.
func targetInfos(d *tool.Deps, target string) ([]supervisor.Info, error) {
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
func analyze(ctx context.Context, d *tool.Deps, source string, infos []supervisor.Info, since, until time.Time) (*insight.Analyzer, error) {
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

// PatternCount is one mined pattern and how many events it had.
type PatternCount struct {
	Msg   string `json:"msg" col:"PATTERN"`
	Count int    `json:"count" col:"COUNT"`
	Level string `json:"level,omitempty" col:"LEVEL" ai:"lvl"`
}

// AnomalyInfo is one anomaly, compact.
type AnomalyInfo struct {
	Kind string    `json:"kind" col:"KIND"`
	At   time.Time `json:"at" col:"AT"`
	// Count is the events in the minute (a spike) or 1 (a new error).
	Count int `json:"count" col:"COUNT"`
	// Baseline is the median events per minute before it.
	Baseline float64 `json:"baseline" col:"BASELINE" ai:"base"`
	// Pattern is the template that drove it most.
	Pattern string `json:"pattern,omitempty" col:"PATTERN"`
}

// LogSummary is the digest of a process's logs over a range: what
// `velos logs NAME --summary` and log_summary answer.
type LogSummary struct {
	Process  string    `json:"process" ai:"-"`
	From     time.Time `json:"from,omitzero" ai:"-"`
	To       time.Time `json:"to,omitzero" ai:"-"`
	Lines    int       `json:"lines"`
	Errors   int       `json:"errors" ai:"errors,keep"`
	Warnings int       `json:"warnings" ai:"warnings,keep"`
	// LastError is "message at file:line" of the last error event.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero" ai:"-"`
	// Patterns are the most frequent patterns, those of errors and
	// warnings first.
	Patterns  []PatternCount `json:"patterns"`
	Anomalies []AnomalyInfo  `json:"anomalies"`
	// Restarts are the process's restarts inside the range, with causes.
	Restarts []RestartEntry `json:"restarts"`
}

// summaryTop is how many patterns a summary lists.
const summaryTop = 5

// summarize builds the digest of infos' logs in [since, until).
func summarize(ctx context.Context, d *tool.Deps, target string, infos []supervisor.Info, since, until time.Time) (LogSummary, error) {
	a, err := analyze(ctx, d, target, infos, since, until)
	if err != nil {
		return LogSummary{}, err
	}
	return digestSummary(target, a, since, until, restartsIn(infos, since, until)), nil
}

// digestSummary is the summary of what a saw.
func digestSummary(source string, a *insight.Analyzer, since, until time.Time, restarts []RestartEntry) LogSummary {
	dg := a.Digest()
	s := LogSummary{Process: source, From: dg.From, To: dg.To, Lines: dg.Lines, Errors: dg.Errors, Warnings: dg.Warnings,
		Patterns: topPatterns(a.Patterns(0), summaryTop), Anomalies: anomalyInfos(dg.Anomalies, since, until),
		Restarts: restarts}
	if e := dg.LastError; e != nil {
		s.LastError, s.LastErrorAt = clip(e.String(), maxMsg), e.Time
	}
	return s
}

// maxMsg bounds a message or template shown to an agent, in bytes.
const maxMsg = 200

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// topPatterns picks n patterns: error and warning patterns first (an agent
// asks about problems; one error matters more than a million health
// checks), each group by count.
func topPatterns(ps []insight.Pattern, n int) []PatternCount {
	sort.SliceStable(ps, func(i, j int) bool {
		pi, pj := ps[i].Level >= insight.LevelWarn, ps[j].Level >= insight.LevelWarn
		if pi != pj {
			return pi
		}
		return ps[i].Count > ps[j].Count
	})
	out := make([]PatternCount, 0, min(n, len(ps)))
	for _, p := range ps[:min(n, len(ps))] {
		pc := PatternCount{Msg: clip(p.Template, maxMsg), Count: p.Count}
		if p.Level != insight.LevelUnknown {
			pc.Level = strings.ToLower(p.Level.String())
		}
		out = append(out, pc)
	}
	return out
}

func anomalyInfos(as []insight.Anomaly, since, until time.Time) []AnomalyInfo {
	out := []AnomalyInfo{}
	for _, a := range as {
		if !inRange(a.Start, since, until) {
			continue
		}
		ai := AnomalyInfo{Kind: string(a.Kind), At: a.Start, Count: a.Count, Baseline: a.Baseline}
		if len(a.Patterns) > 0 {
			ai.Pattern = clip(a.Patterns[0].Template, maxMsg)
		}
		out = append(out, ai)
	}
	return out
}

func inRange(t, since, until time.Time) bool {
	return (since.IsZero() || !t.Before(since)) && (until.IsZero() || t.Before(until))
}

func restartsIn(infos []supervisor.Info, since, until time.Time) []RestartEntry {
	out := []RestartEntry{}
	for _, in := range infos {
		for _, r := range in.History {
			if inRange(r.Time, since, until) {
				out = append(out, RestartEntry(r))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}
