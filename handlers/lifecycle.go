package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tools"
)

// Stop answers process_stop. Cancelled (notifications/cancelled, or the
// caller gone), the supervisor ends the grace at once: what still runs is
// SIGKILLed, so every process ends stopped either way.
var Stop = Bind(tools.Stop, func(ctx context.Context, d *Deps, in tools.TargetIn) (tools.ProcessesOut, error) {
	if ctx.Value(progressKey{}) == nil {
		ins, err := d.Procs.Stop(ctx, in.Target)
		return tools.ProcessesOut{Processes: processInfos(d, ins)}, err
	}
	ins, err := stopEach(ctx, d, in.Target)
	return tools.ProcessesOut{Processes: processInfos(d, ins)}, err
})

// stopEach stops the target's processes in parallel, as the supervisor's
// Stop does, one call per process so that each one stopped is reported as
// progress as it happens.
func stopEach(ctx context.Context, d *Deps, target string) ([]supervisor.Info, error) {
	sel, err := d.Procs.Select(target)
	if err != nil {
		return nil, fmt.Errorf("stop: %w", err)
	}
	var longest time.Duration
	for _, p := range sel {
		longest = max(longest, p.Spec.WithDefaults().KillTimeout)
	}
	progress(ctx, len(sel)+1, fmt.Sprintf("stopping %d process(es): kill signal sent, SIGKILL after kill_timeout (up to %s)", len(sel), longest))
	out := make([]supervisor.Info, len(sel))
	errs := make([]error, len(sel))
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i, p := range sel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ins, err := d.Procs.Stop(ctx, strconv.Itoa(p.ID))
			errs[i] = err
			out[i] = p
			if len(ins) == 1 {
				out[i] = ins[0]
			}
			mu.Lock()
			done++
			msg := fmt.Sprintf("%s (id %d) %s (%d/%d)", out[i].LogName(), p.ID, out[i].Status, done, len(sel))
			mu.Unlock()
			progress(ctx, len(sel)+1, msg)
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// Restart answers process_restart.
var Restart = Bind(tools.Restart, func(ctx context.Context, d *Deps, in tools.TargetIn) (tools.ProcessesOut, error) {
	ins, err := d.Procs.Restart(ctx, in.Target, supervisor.CauseManual)
	return tools.ProcessesOut{Processes: processInfos(d, ins)}, err
})

// Delete answers process_delete.
var Delete = Bind(tools.Delete, func(ctx context.Context, d *Deps, in tools.TargetIn) (tools.ProcessesOut, error) {
	ins, err := d.Procs.Delete(ctx, in.Target)
	for _, p := range ins {
		if _, err := d.Procs.Resolve(p.Name); err != nil { // the last instance of that name is gone
			d.Specs.Delete(p.Name)
		}
	}
	return tools.ProcessesOut{Processes: processInfos(d, ins)}, err
})
