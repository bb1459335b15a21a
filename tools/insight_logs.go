package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/core/logs"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
)

// The insight side of process_logs (velos logs): --dedupe, --summary,
// --patterns, and --file PATH for any log file. The answers are the same
// code as log_summary's.

// dedupeTop and patternsTop are how many rows and patterns an answer lists
// unless lines (-n) says otherwise.
const (
	dedupeTop   = 20
	patternsTop = 20
)

// InsightMode reports whether in asks for the engine rather than lines.
func InsightMode(in LogsIn) bool {
	return in.Dedupe || in.Summary || in.Patterns || in.File != ""
}

// prepareInsightLogs checks the insight flags in the CLI and makes --file
// absolute: the path is the user's.
func prepareInsightLogs(in *LogsIn, cwd string) error {
	if in.File != "" && !filepath.IsAbs(in.File) {
		in.File = filepath.Join(cwd, in.File)
	}
	return checkInsightLogs(*in)
}

func checkInsightLogs(in LogsIn) error {
	n := 0
	for _, b := range []bool{in.Dedupe, in.Summary, in.Patterns} {
		if b {
			n++
		}
	}
	switch {
	case n > 1:
		return errors.New("dedupe, summary and patterns are different answers: pick one")
	case in.PerLine && (!in.Patterns || in.File == ""):
		return errors.New("per_line is the template of every line of a file: it needs file and patterns")
	case in.File != "" && in.Target != "":
		return fmt.Errorf("give a process (%q) or a file, not both", in.Target)
	case in.File == "" && in.Target == "":
		return errors.New("say which process (name, id or all), or give a file")
	case in.File != "" && (len(in.Level) > 0 || in.Cursor != "" || in.Stream != ""):
		return errors.New("with a file: level, cursor and stream do not apply (use grep, since, until)")
	case (n > 0 || in.File != "") && (in.Follow || in.Cursor != ""):
		return errors.New("dedupe, summary, patterns and file answer once: no follow or cursor")
	}
	return nil
}

// EngineInput checks a process_logs input that asks for the engine
// ([InsightMode]) and reads its time range and grep.
func EngineInput(in LogsIn, now time.Time) (since, until time.Time, grep *regexp.Regexp, err error) {
	if err := checkInsightLogs(in); err != nil {
		return since, until, nil, fmt.Errorf("logs: %w", err)
	}
	since, until, err = RangeIn{Since: in.Since, Until: in.Until}.Bounds(now)
	if err != nil {
		return since, until, nil, fmt.Errorf("logs: %w", err)
	}
	if in.Grep != "" {
		if grep, err = regexp.Compile(in.Grep); err != nil {
			return since, until, nil, fmt.Errorf("logs: grep %q: %w", in.Grep, err)
		}
	}
	return since, until, grep, nil
}

// FileLogs answers process_logs for a log file (in.File): in the CLI's own
// process (see [Logs]'s Local), or in the daemon for an MCP client.
func FileLogs(ctx context.Context, in LogsIn) (LogsOut, error) {
	since, until, grep, err := EngineInput(in, time.Now())
	if err != nil {
		return LogsOut{}, err
	}
	out := LogsOut{Lines: []LogLine{}}
	if in.PerLine {
		p, err := minePerLine(ctx, in.File)
		if err != nil {
			return LogsOut{}, fmt.Errorf("logs: %w", err)
		}
		if in.MaxLines < 0 && tool.Verbatim(ctx) {
			// The CLI, in its own process, asked for every line
			// unredacted: the answer is written as the file is read
			// again (WriteJSON, WriteHuman), not held.
			out.perLine = p
			return out, nil
		}
		// Through the daemon (an MCP client), the answer is bounded like
		// any other.
		max := -1
		if in.MaxLines >= 0 {
			max = bound(in.MaxLines, LogsMaxLines, LogsHardLines)
		}
		if out.Templates, out.Truncated, err = p.templates(ctx, max); err != nil {
			return LogsOut{}, fmt.Errorf("logs: %w", err)
		}
		if out.Templates == nil {
			out.Templates = []insight.LineTemplate{}
		}
		return out, nil
	}
	a, err := analyzeFile(ctx, in.File, since, until, grep)
	if err != nil {
		return LogsOut{}, fmt.Errorf("logs: %w", err)
	}
	return EngineAnswer(in, a, in.File, since, until, []RestartEntry{}), nil
}

// EngineAnswer is process_logs' answer from the analyzer a fed with the
// lines in asks for: dedupe rows, patterns or the digest.
func EngineAnswer(in LogsIn, a *insight.Analyzer, source string, since, until time.Time, restarts []RestartEntry) LogsOut {
	top := func(def int) int {
		if in.Lines > 0 {
			return in.Lines
		}
		return def
	}
	out := LogsOut{Lines: []LogLine{}}
	switch {
	case in.Dedupe:
		out.Dedupe = dedupeRows(a, top(dedupeTop))
	case in.Patterns:
		out.Patterns = TopPatterns(a.Patterns(0), top(patternsTop))
	default: // summary, also what --file alone answers
		s := DigestSummary(source, a, since, until, restarts)
		out.Summary = &s
	}
	return out
}

// insightAI is the --ai form of an engine answer (see LogsOut.AIValue).
func (o LogsOut) insightAI() (any, bool) {
	switch {
	case o.Summary != nil:
		return *o.Summary, true
	case o.Dedupe != nil:
		return struct {
			Dedupe []DedupeRow `json:"dedupe"`
		}{o.Dedupe}, true
	case o.Patterns != nil:
		return struct {
			Patterns []PatternCount `json:"patterns"`
		}{o.Patterns}, true
	case o.Templates != nil:
		return struct {
			Templates []insight.LineTemplate `json:"templates"`
			Truncated bool                   `json:"truncated,omitempty"`
		}{o.Templates, o.Truncated}, true
	}
	return nil, false
}

// writeInsightHuman prints an engine answer for people; false when o is
// lines.
func (o LogsOut) writeInsightHuman(w io.Writer, opt render.Options) (bool, error) {
	switch {
	case o.Summary != nil:
		return true, o.Summary.WriteHuman(w, opt)
	case o.Dedupe != nil:
		return true, writeRows(w, o.Dedupe)
	case o.Patterns != nil:
		var b strings.Builder
		for _, p := range o.Patterns {
			fmt.Fprintf(&b, "%8d  %-5s  %s\n", p.Count, strings.ToUpper(p.Level), p.Msg)
		}
		_, err := io.WriteString(w, b.String())
		return true, err
	case o.perLine != nil:
		return true, o.perLine.write(w, false)
	case o.Templates != nil:
		var b strings.Builder
		for _, t := range o.Templates {
			fmt.Fprintf(&b, "%d\t%s\n", t.Line, t.Template)
		}
		_, err := io.WriteString(w, b.String())
		return true, err
	}
	return false, nil
}

// WriteJSON implements render.JSONWriter: the template of every line is one
// JSON object per line ({"line":N,"template":"…"}), so a million lines
// stream to a pipe; any other answer is the usual document.
func (o LogsOut) WriteJSON(w io.Writer) error {
	if o.perLine != nil {
		return o.perLine.write(w, true)
	}
	if o.Templates == nil {
		type plain LogsOut // without this method
		b, err := json.MarshalIndent(plain(o), "", "  ")
		if err != nil {
			return fmt.Errorf("render json: %w", err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, t := range o.Templates {
		if err := enc.Encode(t); err != nil {
			return err
		}
	}
	return nil
}

// logLevel is the full classifier (core/insight) in process_logs' four
// levels: fatal counts as error, and a line that states no level as info
// (stderr without a level is a warning, as the engine counts it).
func logLevel(l logs.Line) string {
	switch insight.Classify(l.Stream.String(), logs.StripANSI(l.Text), insight.DefaultStderrLevel) {
	case insight.LevelFatal, insight.LevelError:
		return logs.LevelError
	case insight.LevelWarn:
		return logs.LevelWarn
	case insight.LevelDebug:
		return logs.LevelDebug
	}
	return logs.LevelInfo
}
