package tools

import (
	"context"
	"fmt"
	"slices"

	"github.com/velos-pm/velos/tool"
)

// FlushIn names whose logs to empty.
type FlushIn struct {
	Target string `json:"target,omitempty" arg:"" optional:"" brief:"name, id or all (default)" help:"Process name, numeric id, or all (the default)."`
}

// FlushOut names the logs emptied.
type FlushOut struct {
	Flushed []string `json:"flushed"`
}

// Flush is log_flush.
var Flush = &tool.Def[FlushIn, FlushOut]{
	Name: "log_flush", CLI: "flush", Title: "Empty logs", Effect: tool.Destructive, Idempotent: true,
	Summary: "Empty processes' log files.",
	Run: func(ctx context.Context, d *tool.Deps, in FlushIn) (FlushOut, error) {
		out := FlushOut{Flushed: []string{}}
		if in.Target == "" || in.Target == "all" {
			names, err := d.Logs.Names()
			if err != nil {
				return out, fmt.Errorf("flush: %w", err)
			}
			if err := d.Logs.Flush(""); err != nil {
				return out, fmt.Errorf("flush: %w", err)
			}
			out.Flushed = append(out.Flushed, names...)
			return out, nil
		}
		names, err := LogNames(d, in.Target)
		if err != nil {
			return out, fmt.Errorf("flush: %w", err)
		}
		for _, n := range names {
			if err := d.Logs.Flush(n); err != nil {
				return out, fmt.Errorf("flush %s: %w", n, err)
			}
			out.Flushed = append(out.Flushed, n)
		}
		slices.Sort(out.Flushed)
		return out, nil
	},
}
