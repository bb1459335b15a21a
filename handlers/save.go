package handlers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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
	return ResurrectDump(d)
})

// ErrNothingSaved is returned by [ResurrectDump] when there is no dump.
var ErrNothingSaved = errors.New("nothing saved")

// ResurrectDump starts every process of the home's dump that is not
// running. One that fails to start does not stop the others; the error
// then names each failure and what was started. The daemon calls it for
// `velos daemon --resurrect`.
func ResurrectDump(d *Deps) (tools.ResurrectOut, error) {
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
	for _, e := range dump.Processes {
		if _, err := d.Procs.Resolve(e.Name); err == nil {
			out.Skipped = append(out.Skipped, e.Name)
			continue
		}
		spec, err := config.Resolve(e.Process, e.Name, e.Profile, e.Dir)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", e.Name, err))
			continue
		}
		if err := d.mayStart(spec); err != nil {
			failed = append(failed, err.Error())
			continue
		}
		ins, err := d.Procs.Start(spec)
		if err != nil {
			failed = append(failed, err.Error())
			continue
		}
		d.Specs.Put(e)
		started = append(started, ins...)
	}
	out.Started = processInfos(d, started)
	if len(failed) > 0 {
		var names []string
		for _, s := range started {
			names = append(names, s.Name)
		}
		return out, fmt.Errorf("resurrect: %d of %d saved processes failed to start:\n  %s\nstarted: %s",
			len(failed), len(dump.Processes), strings.Join(failed, "\n  "), orNone(names))
	}
	return out, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
