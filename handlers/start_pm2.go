package handlers

import (
	"context"
	"slices"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/core/pm2"
	"github.com/velos-pm/velos/tools"
)

// startEcosystem starts the apps of a PM2 ecosystem file (or dump.pm2) as a
// velos.toml with the same processes would start: all or none, --env
// choosing the env_PROFILE of each app, --only some of them. The keys that
// did not map come back as warnings.
func startEcosystem(ctx context.Context, d *Deps, in tools.StartIn) (tools.ProcessesOut, error) {
	f, err := pm2.Load(ctx, in.Script, pm2.Options{Cwd: in.Cwd})
	if err != nil {
		return tools.ProcessesOut{}, err
	}
	cf := &config.File{Path: in.Script, Dir: f.Dir}
	for _, e := range f.Apps {
		// PM2 adds an app with autostart: false without starting it; Velos
		// cannot, so it starts only when named with --only.
		if slices.Contains(f.NoAutostart, e.Name) && !slices.Contains(in.Only, e.Name) {
			continue
		}
		cf.Processes = append(cf.Processes, e)
	}
	out, err := startConfig(d, cf, in)
	if err != nil {
		return out, err
	}
	out.Warnings = f.Warnings()
	return out, nil
}
