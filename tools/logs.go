package tools

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/core/logs"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
)

// Bounds of one process_logs answer. An agent pays for every line, so an
// answer is small unless the caller asks for more; a cut answer says so
// (truncated) and carries the cursor that continues it.
const (
	LogsMaxLines  = 200      // lines per answer by default
	LogsMaxBytes  = 32 << 10 // bytes of text per answer by default
	LogsHardLines = 10000    // the most a caller may ask for
	LogsHardBytes = 1 << 20
)

// LogsURIPrefix starts the MCP resource of a process's logs:
// velos://logs/{name}, where name is a process name, an id or all.
const LogsURIPrefix = "velos://logs/"

// LogsURI is the resource of target's logs, the one to subscribe to.
func LogsURI(target string) string { return LogsURIPrefix + target }

// LogsIn selects log lines. The CLI-only fields (json:"-") are mapped by
// Prepare: times are parsed there, in the user's zone and clock.
type LogsIn struct {
	Target string   `json:"target,omitempty" arg:"" optional:"" brief:"name, id or all (default)" help:"Process name, numeric id, or all (the default, as pm2 logs; not with file)."`
	Lines  int      `json:"lines,omitempty" short:"n" brief:"last N (default 15; -1: all)" help:"The last N matching lines (default 15; with since or until, every line in the range; -1: every line)."`
	Grep   string   `json:"grep,omitempty" brief:"RE2 regex" help:"Only lines matching this regular expression (RE2 syntax)."`
	Since  string   `json:"since,omitempty" brief:"RFC 3339 or age, e.g. 2h" help:"From this time: RFC 3339, '2024-01-15 10:00' (local time), or an age like 30m, 2h, 1d."`
	Until  string   `json:"until,omitempty" brief:"-" help:"Before this time, in the same forms as since."`
	Level  []string `json:"level,omitempty" sep:"," enum:"error,warn,info,debug" brief:"-" help:"Only lines of these levels (comma-separated)."`
	Stream string   `json:"stream,omitempty" enum:",out,err,both" default:"" hidden:"" brief:"default both" help:"Which output: out (stdout), err (stderr) or both (the default)."`
	Cursor string   `json:"cursor,omitempty" brief:"from a truncated answer" help:"Continue a truncated answer: pass its cursor with the same filters."`
	// MaxLines and MaxBytes bound the answer (see the constants).
	MaxLines int `json:"max_lines,omitempty" brief:"default 200" help:"Most lines in the answer (default 200, at most 10000)."`
	MaxBytes int `json:"max_bytes,omitempty" brief:"-" help:"Most bytes of text in the answer (default 32768, at most 1048576)."`
	// The insight engine instead of lines (tools/insight_logs.go).
	Dedupe   bool   `json:"dedupe,omitempty" brief:"group alike lines" help:"One row per group of lines equal but for variable parts, with count and first/last time."`
	Summary  bool   `json:"summary,omitempty" brief:"as log_summary" help:"The digest instead of lines (as log_summary)."`
	Patterns bool   `json:"patterns,omitempty" brief:"-" help:"Mined patterns (variable parts as <*>) with counts."`
	File     string `json:"file,omitempty" type:"path" brief:"a log file instead" help:"Analyse this log file instead of a process."`
	PerLine  bool   `json:"per_line,omitempty" brief:"with file: each line's template" help:"With file and patterns: every line's template."`

	Last     string `json:"-" help:"Only the last period of time, e.g. 1h (the same as --since 1h)."`
	Err      bool   `json:"-" xor:"stream" help:"Only stderr."`
	Out      bool   `json:"-" xor:"stream" help:"Only stdout."`
	Follow   bool   `json:"-" short:"f" xor:"follow" help:"Keep printing new lines until Ctrl-C (the default when stdout is a terminal)."`
	NoFollow bool   `json:"-" name:"no-follow" xor:"follow" help:"Print the lines and exit, even on a terminal."`
}

// LogLine is one line of output.
type LogLine struct {
	Time   time.Time `json:"time"`   // when velos read it (nanoseconds, UTC)
	Name   string    `json:"name"`   // process (or instance) name
	Stream string    `json:"stream"` // out or err
	Text   string    `json:"text"`   // as the app wrote it, colour codes included
	// Continued: this record continues the previous one's line, which was
	// longer than the 64 KiB a record holds.
	Continued bool `json:"continued,omitempty"`
}

// LogsOut is process_logs' answer.
type LogsOut struct {
	Lines []LogLine `json:"lines"`
	// Truncated: the bounds cut the answer; Cursor continues it.
	Truncated bool `json:"truncated,omitempty"`
	// Cursor is the position after the last line: with Truncated it fetches
	// the rest, without it the lines written since (polling).
	Cursor string `json:"cursor,omitempty"`
	// The insight engine's answers (tools/insight_logs.go); at most one is set.
	Dedupe    []DedupeRow            `json:"dedupe,omitempty"`
	Summary   *LogSummary            `json:"summary,omitempty"`
	Patterns  []PatternCount         `json:"patterns,omitempty"`
	Templates []insight.LineTemplate `json:"templates,omitempty"`

	// perLine, set instead of Templates for the CLI's own process, writes
	// the templates as it re-reads the file (tools/insight_file.go).
	perLine *perLineFile
}

// Logs is process_logs.
var Logs = &tool.Def[LogsIn, LogsOut]{
	Name: "process_logs", CLI: "logs", Title: "Read process logs", Effect: tool.ReadOnly,
	Summary: "Log lines filtered by time, regex, level, stream; bounded, with a cursor.",
	Prepare: prepareLogs,
	Stream:  streamLogs,
	// A file is read where the user is, and its per-line answer may be far
	// too big for one MCP message.
	Local:    func(in *LogsIn) bool { return in.File != "" },
	RunLocal: FileLogs,
}

// prepareLogs turns the CLI-only flags into the tool's input and parses
// times where the user is: an age counts back from the CLI's now and a time
// without a zone is in the user's zone, which the daemon may not share.
func prepareLogs(in *LogsIn, cwd string) error {
	if in.Target == "" && in.File == "" {
		in.Target = "all" // velos logs follows every process, as pm2 logs does
	}
	if err := prepareInsightLogs(in, cwd); err != nil {
		return err
	}
	if in.Last != "" {
		if in.Since != "" {
			return errors.New("--last and --since both give the start; use one")
		}
		if _, err := parseAge(in.Last); err != nil {
			return fmt.Errorf("--last %q: %w", in.Last, err)
		}
		in.Since, in.Last = in.Last, ""
	}
	now := time.Now()
	for _, f := range []struct {
		flag string
		v    *string
	}{{"--since", &in.Since}, {"--until", &in.Until}} {
		if *f.v == "" {
			continue
		}
		t, err := logs.ParseTime(*f.v, now)
		if err != nil {
			return fmt.Errorf("%s %q: %w", f.flag, *f.v, err)
		}
		*f.v = t.Format(time.RFC3339Nano)
	}
	switch {
	case in.Err:
		in.Stream = "err"
	case in.Out:
		in.Stream = "out"
	}
	in.Err, in.Out = false, false
	_, _, err := LogsQuery(*in, now)
	if in.File != "" && in.MaxLines == 0 {
		in.MaxLines = -1 // run in this process (Local): every line's template
	}
	return err
}

// parseAge accepts what --last means: a duration back from now.
func parseAge(s string) (time.Duration, error) {
	now := time.Now()
	t, err := logs.ParseTime(s, now)
	if err != nil {
		return 0, err
	}
	if d := now.Sub(t); d > 0 && !strings.ContainsAny(s, ":T-") {
		return d, nil
	}
	return 0, errors.New("want a duration like 30m, 1h or 2d")
}

// LogsQuery checks an input and builds its query (without names), with the
// answer's bounds.
func LogsQuery(in LogsIn, now time.Time) (logs.Query, bool, error) {
	q := logs.Query{Lines: in.Lines, Levels: in.Level, Cursor: in.Cursor, Classify: logLevel}
	var err error
	if q.Streams, err = logs.ParseStream(in.Stream); err != nil {
		return q, false, fmt.Errorf("stream: %w", err)
	}
	if in.Since != "" {
		if q.Since, err = logs.ParseTime(in.Since, now); err != nil {
			return q, false, fmt.Errorf("since %q: %w", in.Since, err)
		}
	}
	if in.Until != "" {
		if q.Until, err = logs.ParseTime(in.Until, now); err != nil {
			return q, false, fmt.Errorf("until %q: %w", in.Until, err)
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return q, false, fmt.Errorf("since %s is not before until %s: the range is empty",
			q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	if in.Grep != "" {
		if q.Grep, err = regexp.Compile(in.Grep); err != nil {
			return q, false, fmt.Errorf("grep %q: %w", in.Grep, err)
		}
	}
	for _, l := range in.Level {
		switch l {
		case logs.LevelError, logs.LevelWarn, logs.LevelInfo, logs.LevelDebug:
		default:
			return q, false, fmt.Errorf("level %q: want error, warn, info or debug", l)
		}
	}
	if in.MaxLines < 0 || in.MaxBytes < 0 {
		return q, false, errors.New("max_lines and max_bytes must not be negative")
	}
	q.MaxLines = bound(in.MaxLines, LogsMaxLines, LogsHardLines)
	q.MaxBytes = bound(in.MaxBytes, LogsMaxBytes, LogsHardBytes)
	return q, true, nil
}

// bound is v, or def when unset, never above hard: a bigger request is
// served in pages (truncated, with a cursor) rather than refused.
func bound(v, def, hard int) int {
	if v == 0 {
		return def
	}
	return min(v, hard)
}

// streamLogs is `velos logs`: the lines asked for, then, when following,
// the new ones after each resources/updated notification of the process's
// log resource — the same path an MCP client subscribing to it takes.
// People (human output) get every line they asked for, a page at a time;
// --json and --ai get the bounded answer with its cursor, as agents do.
func streamLogs(ctx context.Context, in LogsIn, s tool.Stream[LogsIn, LogsOut], emit func(LogsOut) error) error {
	if InsightMode(in) { // one answer: nothing to page or follow
		out, err := s.Call(ctx, in)
		if err != nil {
			return err
		}
		return emit(out)
	}
	follow := in.Follow || (!in.NoFollow && s.TTY)
	if in.Until != "" {
		if in.Follow {
			return &tool.Error{Tool: "process_logs", Msg: "--follow with --until: a range that ends cannot be followed"}
		}
		follow = false
	}
	// Explicit bounds are kept as asked, cut answer and cursor included.
	page := s.Mode == render.Human && in.MaxLines == 0 && in.MaxBytes == 0
	if page {
		in.MaxLines, in.MaxBytes = LogsHardLines, LogsHardBytes
	}
	var updates <-chan struct{}
	if follow {
		var err error
		// Subscribe first, so that no line falls between the first answer
		// and the subscription.
		if updates, err = s.Subscribe(ctx, LogsURI(in.Target)); err != nil {
			return err
		}
	}
	start := time.Now()
	out, err := s.Call(ctx, in)
	if err != nil {
		return err
	}
	// A page this loop continues is not shown as cut.
	more := func(o LogsOut) bool { return (page || follow) && o.Truncated }
	shown := func(o LogsOut) LogsOut {
		if more(o) {
			o.Truncated = false
		}
		return o
	}
	if err := emit(shown(out)); err != nil {
		return err
	}
	next := in
	for more(out) {
		next.Cursor = out.Cursor
		if out, err = s.Call(ctx, next); err != nil {
			return err
		}
		if err := emit(shown(out)); err != nil {
			return err
		}
	}
	if !follow {
		return nil
	}
	// From now on: every line after the last position seen.
	next.Lines = -1
	if out.Cursor != "" {
		next.Cursor = out.Cursor
	} else if next.Cursor == "" && next.Since == "" {
		// Nothing was logged yet: everything from now on is new.
		next.Since = start.UTC().Format(time.RFC3339Nano)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-updates:
			if !ok {
				return errors.New("the daemon closed the connection")
			}
		}
		for {
			out, err := s.Call(ctx, next)
			if err != nil {
				return err
			}
			if out.Cursor != "" {
				next.Cursor = out.Cursor
			}
			if len(out.Lines) > 0 {
				if err := emit(shown(out)); err != nil {
					return err
				}
			}
			if !out.Truncated {
				break
			}
		}
	}
}

// aiLogs is the --ai (and MCP text) form of [LogsOut]: one string per line,
// colour codes removed, times in UTC to the second with the day said once
// when every line shares it.
type aiLogs struct {
	UTC       string   `json:"utc,omitempty"`
	Lines     []string `json:"lines"`
	Truncated bool     `json:"truncated,omitempty"`
	Cursor    string   `json:"cursor,omitempty"`
}

// AIValue implements [render.AIValuer]. A line reads
// "15:04:05 [name ][err] text": the name only when lines of several
// processes mix, [err] on stderr lines.
func (o LogsOut) AIValue() any {
	if v, ok := o.insightAI(); ok {
		return v
	}
	a := aiLogs{Lines: make([]string, 0, len(o.Lines)), Truncated: o.Truncated}
	if o.Truncated {
		a.Cursor = o.Cursor // without truncation it only serves polling
	}
	oneDay, oneName := true, true
	for i, l := range o.Lines {
		if i > 0 {
			oneDay = oneDay && sameDay(l.Time, o.Lines[0].Time)
			oneName = oneName && l.Name == o.Lines[0].Name
		}
	}
	layout := "2006-01-02T15:04:05Z"
	if oneDay && len(o.Lines) > 0 {
		a.UTC = o.Lines[0].Time.UTC().Format("2006-01-02")
		layout = "15:04:05"
	}
	var sb strings.Builder
	for _, l := range o.Lines {
		if l.Continued && len(a.Lines) > 0 { // the rest of a line longer than a record
			a.Lines[len(a.Lines)-1] += logs.StripANSI(l.Text)
			continue
		}
		sb.Reset()
		sb.WriteString(l.Time.UTC().Format(layout))
		sb.WriteByte(' ')
		if !oneName {
			sb.WriteString(l.Name)
			sb.WriteByte(' ')
		}
		if l.Stream == "err" {
			sb.WriteString("[err] ")
		}
		sb.WriteString(logs.StripANSI(l.Text))
		a.Lines = append(a.Lines, sb.String())
	}
	return a
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.UTC().Date()
	by, bm, bd := b.UTC().Date()
	return ay == by && am == bm && ad == bd
}

// WriteHuman implements [render.HumanWriter], like PM2 with timestamps:
//
//	api     | 2024-01-15 10:00:01.123 | GET /health 200
//	api:err | 2024-01-15 10:00:01.124 | connection refused
//
// Times are local. Colour codes the app wrote are kept on a colour
// terminal and removed otherwise; the continuation records of a very long
// line are joined back into one line.
func (o LogsOut) WriteHuman(w io.Writer, opt render.Options) error {
	if ok, err := o.writeInsightHuman(w, opt); ok {
		return err
	}
	width := 0
	for _, l := range o.Lines {
		width = max(width, len(humanLabel(l)))
	}
	color := opt.TTY && opt.Color
	var sb strings.Builder
	for i, l := range o.Lines {
		text := l.Text
		if !color {
			text = logs.StripANSI(text)
		}
		if l.Continued && i > 0 {
			sb.WriteString(text)
			continue
		}
		if i > 0 {
			sb.WriteByte('\n')
		}
		label := humanLabel(l)
		pad := strings.Repeat(" ", width-len(label))
		stamp := l.Time.Local().Format("2006-01-02 15:04:05.000")
		if color {
			c := "\x1b[36m" // names cyan, stderr red, times dim
			if l.Stream == "err" {
				c = "\x1b[31m"
			}
			fmt.Fprintf(&sb, "%s%s\x1b[0m%s | \x1b[2m%s\x1b[0m | %s", c, label, pad, stamp, text)
		} else {
			fmt.Fprintf(&sb, "%s%s | %s | %s", label, pad, stamp, text)
		}
	}
	if len(o.Lines) > 0 {
		sb.WriteByte('\n')
	}
	if o.Truncated {
		fmt.Fprintf(&sb, "(truncated: continue with --cursor %s)\n", o.Cursor)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func humanLabel(l LogLine) string {
	if l.Stream == "err" {
		return l.Name + ":err"
	}
	return l.Name
}
