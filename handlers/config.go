package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"

	"github.com/velos-pm/velos/core/supervisor"
)

// CauseReload is the restart cause of `velos reload` and of a config change
// applied by it.
const CauseReload = supervisor.CauseReload

// running returns the processes called name, by id.
func running(d *Deps, name string) []supervisor.Info {
	var out []supervisor.Info
	for _, in := range d.Procs.List() {
		if in.Name == name {
			out = append(out, in)
		}
	}
	return out
}

// sameSpec reports whether a running spec and a newly resolved one would run
// the same way. They are compared in their JSON form, where an empty env and
// no env are the same thing.
func sameSpec(a, b supervisor.Spec) bool {
	ja, _ := json.Marshal(a.WithDefaults())
	jb, _ := json.Marshal(b.WithDefaults())
	return string(ja) == string(jb)
}

// liveFields are the Spec fields a running process reads as it goes, so an
// [supervisor.Manager.Update] applies them at once: the restart policy (read
// when a run ends), the stop signal and grace (read when stopping), the
// memory limit (read by the sampler) and the cron schedule (the scheduler).
var liveFields = []string{"Autorestart", "KillTimeout", "KillSignal", "Backoff", "MaxRestarts",
	"RestartWindow", "MaxMemory", "CronRestart"}

// changedFields names the Spec fields that differ between a and b.
func changedFields(a, b supervisor.Spec) []string {
	a, b = a.WithDefaults(), b.WithDefaults()
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := 0; i < va.NumField(); i++ {
		fa, fb := va.Field(i).Interface(), vb.Field(i).Interface()
		ja, _ := json.Marshal(fa)
		jb, _ := json.Marshal(fb)
		if string(ja) != string(jb) && !(isEmptyJSON(ja) && isEmptyJSON(jb)) {
			out = append(out, va.Type().Field(i).Name)
		}
	}
	return out
}

func isEmptyJSON(b []byte) bool {
	s := string(b)
	return s == "null" || s == "{}" || s == "[]" || s == `""` || s == "0" || s == "false"
}

// rollingRestart reloads procs one instance at a time: each new instance
// is ready before the one it replaces stops (see supervisor.Manager.Reload),
// so a service keeps serving throughout.
func rollingRestart(ctx context.Context, d *Deps, procs []supervisor.Info, cause supervisor.Cause) ([]supervisor.Info, error) {
	out := make([]supervisor.Info, 0, len(procs))
	for _, p := range procs {
		ins, err := d.Procs.Reload(ctx, strconv.Itoa(p.ID), nil, cause, reloadProgress(ctx))
		out = append(out, ins...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// replace makes the processes called spec.Name run spec, with a graceful
// restart of each instance in turn; a change of the number of instances
// scales first. It returns the processes after.
func replace(ctx context.Context, d *Deps, spec supervisor.Spec, cause supervisor.Cause) ([]supervisor.Info, error) {
	if err := d.mayStart(spec); err != nil {
		return nil, err
	}
	cur := running(d, spec.Name)
	if len(cur) == 0 {
		return d.Procs.Start(spec)
	}
	if n := spec.WithDefaults().Instances; cur[0].Spec.Instances != n {
		// A new count: scale in place (new instances join, the last ones
		// leave), then the rolling reload applies the rest of the change.
		if _, err := d.Procs.Scale(ctx, spec.Name, n); err != nil {
			return nil, fmt.Errorf("reload %s: %w", spec.Name, err)
		}
	}
	return d.Procs.Reload(ctx, spec.Name, &spec, cause, reloadProgress(ctx))
}

// syncCron brings the cron scheduler in step after specs changed without a
// start (a start reaches it through the supervisor's events).
func syncCron(d *Deps) {
	if d.Cron != nil {
		d.Cron.Sync(d.Procs.List())
	}
}

// onlyLive reports whether every changed field applies at once.
func onlyLive(changed []string) bool {
	for _, f := range changed {
		if !slices.Contains(liveFields, f) {
			return false
		}
	}
	return true
}
