package handlers

import (
	"context"
	"fmt"
	"slices"

	"github.com/velos-pm/velos/tools"
)

// Flush answers log_flush.
var Flush = Bind(tools.Flush, func(ctx context.Context, d *Deps, in tools.FlushIn) (tools.FlushOut, error) {
	out := tools.FlushOut{Flushed: []string{}}
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
})
