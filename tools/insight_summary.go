package tools

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
)

// SummaryIn asks for the digest of a process's logs.
type SummaryIn struct {
	Target string `json:"target" arg:"" brief:"name, id or all" help:"Process name, numeric id, or all."`
	RangeIn
}

// LogSummaryTool is log_summary.
var LogSummaryTool = &tool.Def[SummaryIn, LogSummary]{
	Name: "log_summary", CLI: "summary", Title: "Summarise logs", Effect: tool.ReadOnly,
	Summary: "Read before the lines: error/warning counts, last error, top patterns, anomalies.",
	Prepare: func(in *SummaryIn, cwd string) error { return prepareRange(&in.RangeIn) },
}

// WriteHuman implements render.HumanWriter: people get the digest on one line,
//
//	errors: 23, warnings: 156, last_error: "ECONNREFUSED at db.js:42", patterns: [{msg:"timeout", count:12}, …]
//
// followed by anomalies and restarts when there are any.
func (s LogSummary) WriteHuman(w io.Writer, _ render.Options) error {
	var b strings.Builder
	fmt.Fprintf(&b, "errors: %d, warnings: %d", s.Errors, s.Warnings)
	if s.LastError != "" {
		fmt.Fprintf(&b, ", last_error: %s", strconv.Quote(s.LastError))
	}
	b.WriteString(", patterns: [")
	for i, p := range s.Patterns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "{msg:%s, count:%d}", strconv.Quote(p.Msg), p.Count)
	}
	b.WriteString("]\n")
	for _, a := range s.Anomalies {
		fmt.Fprintf(&b, "anomaly: %s at %s: ", a.Kind, a.At.Local().Format(time.TimeOnly))
		if a.Kind != string(insight.KindNewError) {
			fmt.Fprintf(&b, "%d/min (baseline %g) ", a.Count, a.Baseline)
		}
		b.WriteString(a.Pattern + "\n")
	}
	for _, r := range s.Restarts {
		fmt.Fprintf(&b, "restart: %s %s\n", r.Time.Local().Format(time.DateTime), r.Cause)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
