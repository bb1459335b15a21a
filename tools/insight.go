package tools

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/core/logs"
)

// This file holds what the insight tools (log_search, log_summary,
// process_health_summary) and process_logs' --dedupe/--summary share: time
// ranges and the digest (handlers/insight.go pages through the log store).

// RangeIn is a time range over a process's logs. Times are as
// [logs.ParseTime] reads them.
type RangeIn struct {
	Since string `json:"since,omitempty" brief:"RFC 3339 or age, e.g. 2h" help:"Start of the range (inclusive): a time (2024-01-15 10:00, RFC 3339) or a duration before now (30m, 2h, 1d)."`
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

// Bounds parses the range relative to now.
func (r RangeIn) Bounds(now time.Time) (since, until time.Time, err error) {
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

// DigestSummary is the summary of what a saw: the answer of log_summary
// and of process_logs with summary, for a process or a file.
func DigestSummary(source string, a *insight.Analyzer, since, until time.Time, restarts []RestartEntry) LogSummary {
	dg := a.Digest()
	s := LogSummary{Process: source, From: dg.From, To: dg.To, Lines: dg.Lines, Errors: dg.Errors, Warnings: dg.Warnings,
		Patterns: TopPatterns(a.Patterns(0), summaryTop), Anomalies: AnomalyInfos(dg.Anomalies, since, until),
		Restarts: restarts}
	if e := dg.LastError; e != nil {
		s.LastError, s.LastErrorAt = Clip(e.String(), MaxMsg), e.Time
	}
	return s
}

// MaxMsg bounds a message or template shown to an agent, in bytes.
const MaxMsg = 200

// Clip shortens s to at most n bytes on a rune boundary, marking the cut.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// TopPatterns picks n patterns: error and warning patterns first (an agent
// asks about problems; one error matters more than a million health
// checks), each group by count.
func TopPatterns(ps []insight.Pattern, n int) []PatternCount {
	sort.SliceStable(ps, func(i, j int) bool {
		pi, pj := ps[i].Level >= insight.LevelWarn, ps[j].Level >= insight.LevelWarn
		if pi != pj {
			return pi
		}
		return ps[i].Count > ps[j].Count
	})
	out := make([]PatternCount, 0, min(n, len(ps)))
	for _, p := range ps[:min(n, len(ps))] {
		pc := PatternCount{Msg: Clip(p.Template, MaxMsg), Count: p.Count}
		if p.Level != insight.LevelUnknown {
			pc.Level = strings.ToLower(p.Level.String())
		}
		out = append(out, pc)
	}
	return out
}

func AnomalyInfos(as []insight.Anomaly, since, until time.Time) []AnomalyInfo {
	out := []AnomalyInfo{}
	for _, a := range as {
		if !InRange(a.Start, since, until) {
			continue
		}
		ai := AnomalyInfo{Kind: string(a.Kind), At: a.Start, Count: a.Count, Baseline: a.Baseline}
		if len(a.Patterns) > 0 {
			ai.Pattern = Clip(a.Patterns[0].Template, MaxMsg)
		}
		out = append(out, ai)
	}
	return out
}

func InRange(t, since, until time.Time) bool {
	return (since.IsZero() || !t.Before(since)) && (until.IsZero() || t.Before(until))
}
