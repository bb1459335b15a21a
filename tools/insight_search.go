package tools

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
)

// SearchIn is a regex search over a process's logs.
type SearchIn struct {
	Target  string `json:"target" arg:"" brief:"name, id or all" help:"Process name, numeric id, or all."`
	Pattern string `json:"pattern" arg:"" brief:"RE2 regex" help:"Regular expression (RE2) matched against each line, without colours."`
	RangeIn
	Level      string `json:"level,omitempty" enum:",debug,info,warn,error,fatal" default:"" brief:"this or worse" help:"Only lines at this level or more severe (error also gives fatal)."`
	IgnoreCase bool   `json:"ignore_case,omitempty" short:"i" brief:"-" help:"Match without regard to case."`
	Limit      int    `json:"limit,omitempty" default:"20" brief:"-" help:"Most matches returned (the latest ones), up to 200."`
	Before     int    `json:"before,omitempty" short:"B" brief:"context lines (max 10)" help:"Lines of context shown before each match, up to 10."`
	After      int    `json:"after,omitempty" short:"A" brief:"context lines (max 10)" help:"Lines of context shown after each match, up to 10."`
	Cursor     string `json:"cursor,omitempty" brief:"from a truncated answer" help:"Continue a truncated search: the cursor of the previous answer gives the earlier matches."`
}

// SearchMatch is one matching line with its context.
type SearchMatch struct {
	Time    time.Time `json:"time"`
	Process string    `json:"process,omitempty" ai:"p"`
	Stream  string    `json:"stream" ai:"-"`
	Text    string    `json:"text"`
	Before  []string  `json:"before,omitempty" ai:"b"`
	After   []string  `json:"after,omitempty" ai:"a"`
}

// SearchOut is the latest matches, oldest first.
type SearchOut struct {
	Matches []SearchMatch `json:"matches"`
	// Total is the number of matches in the range; more than len(Matches)
	// when the answer is truncated.
	Total     int    `json:"total" ai:"total,keep"`
	Truncated bool   `json:"truncated,omitempty" ai:"-"`
	Cursor    string `json:"cursor,omitempty"`
	Note      string `json:"note,omitempty"`
}

// LogSearch is log_search.
var LogSearch = &tool.Def[SearchIn, SearchOut]{
	Name: "log_search", CLI: "search", Title: "Search logs", Effect: tool.ReadOnly,
	Summary: "Grep logs with context lines; latest first, a cursor for more.",
	Prepare: func(in *SearchIn, cwd string) error { return prepareRange(&in.RangeIn) },
}

// WriteHuman implements render.HumanWriter: people get grep-like lines, context
// indented under its match.
func (o SearchOut) WriteHuman(w io.Writer, _ render.Options) error {
	var b strings.Builder
	for _, x := range o.Matches {
		for _, c := range x.Before {
			b.WriteString("  " + c + "\n")
		}
		b.WriteString(x.Time.Local().Format("2006-01-02 15:04:05.000") + " ")
		if x.Process != "" {
			b.WriteString(x.Process + " ")
		}
		b.WriteString(x.Text + "\n")
		for _, c := range x.After {
			b.WriteString("  " + c + "\n")
		}
	}
	if o.Note != "" {
		fmt.Fprintf(&b, "(%s: %s)\n", o.Note, o.Cursor)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
