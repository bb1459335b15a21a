package handlers

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tools"
)

// Scale answers process_scale: the count is the "instances" key of the
// process's recorded config, set as config set sets it (so save, resurrect
// and reload keep it), which scales the running process in place.
var Scale = Bind(tools.Scale, func(ctx context.Context, d *Deps, in tools.ScaleIn) (tools.ProcessesOut, error) {
	cur := running(d, in.Name)
	if len(cur) == 0 {
		if _, err := d.Procs.Resolve(in.Name); err != nil {
			return tools.ProcessesOut{}, fmt.Errorf("scale: %w", err)
		}
		return tools.ProcessesOut{}, fmt.Errorf("scale %s: give a process name, not an id (scale changes every instance of a name)", in.Name)
	}
	if !slices.ContainsFunc(cur, func(in supervisor.Info) bool { return in.Status != supervisor.Stopped }) {
		return tools.ProcessesOut{}, fmt.Errorf("scale %s: it is stopped; velos start %s -i N starts N instances", in.Name, in.Name)
	}
	n, err := scaleCount(in.Count, len(cur))
	if err != nil {
		return tools.ProcessesOut{}, fmt.Errorf("scale %s: %w", in.Name, err)
	}
	if _, err := setKey(ctx, d, tools.ConfigSetIn{Name: in.Name, Key: "instances", Value: strconv.Itoa(n)}); err != nil {
		return tools.ProcessesOut{}, err
	}
	if len(running(d, in.Name)) != n {
		// The recorded count was already n while fewer or more ran (an
		// instance deleted by id): scale the running ones to it.
		if _, err := d.Procs.Scale(ctx, in.Name, n); err != nil {
			return tools.ProcessesOut{}, fmt.Errorf("scale %s: %w", in.Name, err)
		}
	}
	return tools.ProcessesOut{Processes: processInfos(d, running(d, in.Name))}, nil
})

// scaleCount reads a count as PM2's scale does: "4" is absolute, "+2" and
// "-1" change the running count.
func scaleCount(s string, now int) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("count %q: want a number (4) or a change (+2, -1)", s)
	}
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		n += now
	}
	switch {
	case n < 1:
		return 0, fmt.Errorf("count %q: %d instances; at least 1 must run (velos stop stops them all)", s, n)
	case n > config.MaxInstances:
		return 0, fmt.Errorf("count %q: %d instances; at most %d", s, n, config.MaxInstances)
	}
	return n, nil
}
