package handlers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/core/state"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tools"
)

// Save answers state_save.
var Save = Bind(tools.Save, func(ctx context.Context, d *Deps, in tools.SaveIn) (tools.SaveOut, error) {
	entries := d.Specs.All()
	// The file keeps milliseconds: report the time as it reads back.
	dump := state.Dump{Processes: entries, SavedAt: time.Now().UTC().Truncate(time.Millisecond)}
	path := state.Path(d.Home)
	if err := state.Save(path, dump); err != nil {
		return tools.SaveOut{}, fmt.Errorf("save: %w", err)
	}
	out := tools.SaveOut{Path: path, Processes: make([]string, 0, len(entries)), SavedAt: dump.SavedAt}
	for _, e := range entries {
		out.Processes = append(out.Processes, e.Name)
	}
	return out, nil
})

// Resurrect answers state_resurrect.
var Resurrect = Bind(tools.Resurrect, func(ctx context.Context, d *Deps, in tools.ResurrectIn) (tools.ResurrectOut, error) {
	return resurrect(ctx, d)
})

// ErrNothingSaved is returned by [ResurrectDump] when there is no dump.
var ErrNothingSaved = errors.New("nothing saved")

// ResurrectDump starts every process of the home's dump that is not
// running. One that fails to start does not stop the others; the error
// then names each failure and what was started. The daemon calls it for
// `velos daemon --resurrect`.
func ResurrectDump(d *Deps) (tools.ResurrectOut, error) {
	return resurrect(context.Background(), d)
}

// resurrect is [ResurrectDump] for a call: each process started (or
// skipped, or failed) is reported as progress; cancelled, it starts no
// further process, and those it started keep running (the next resurrect
// skips them).
func resurrect(ctx context.Context, d *Deps) (tools.ResurrectOut, error) {
	path := state.Path(d.Home)
	out := tools.ResurrectOut{Path: path, Started: []tools.ProcessInfo{}, Skipped: []string{}}
	dump, err := state.Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return out, fmt.Errorf("resurrect: %w: no %s (run velos save first)", ErrNothingSaved, path)
	case err != nil:
		return out, fmt.Errorf("resurrect: %w", err)
	}
	var failed []string
	var started []supervisor.Info
	total := len(dump.Processes)
	for i, e := range dump.Processes {
		if err := ctx.Err(); err != nil {
			out.Started = processInfos(d, started)
			return out, fmt.Errorf("resurrect: %w after %d of %d saved processes; started: %s", err, i, total, orNone(names(started)))
		}
		step := func(what string) { progress(ctx, total, fmt.Sprintf("%s %s (%d/%d)", e.Name, what, i+1, total)) }
		if _, err := d.Procs.Resolve(e.Name); err == nil {
			out.Skipped = append(out.Skipped, e.Name)
			step("already running: skipped")
			continue
		}
		spec, err := config.Resolve(e.Process, e.Name, e.Profile, e.Dir)
		if err != nil {
			err = fmt.Errorf("%s: %w", e.Name, err)
		} else {
			err = d.mayStart(spec)
		}
		var ins []supervisor.Info
		if err == nil {
			ins, err = d.Procs.Start(spec)
		}
		if err != nil {
			failed = append(failed, err.Error())
			step("failed: " + err.Error())
			continue
		}
		d.Specs.Put(e)
		started = append(started, ins...)
		step("started")
	}
	out.Started = processInfos(d, started)
	if len(failed) > 0 {
		return out, fmt.Errorf("resurrect: %d of %d saved processes failed to start:\n  %s\nstarted: %s",
			len(failed), len(dump.Processes), strings.Join(failed, "\n  "), orNone(names(started)))
	}
	return out, nil
}

// names are the distinct names of ins, in order.
func names(ins []supervisor.Info) []string {
	var out []string
	for _, in := range ins {
		if !slices.Contains(out, in.Name) {
			out = append(out, in.Name)
		}
	}
	return out
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
