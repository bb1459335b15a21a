package handlers

import (
	"context"
	"errors"

	"github.com/velos-pm/velos/tools"
)

// Update answers daemon_update.
var Update = Bind(tools.Update, func(ctx context.Context, d *Deps, in tools.UpdateIn) (tools.UpdateOut, error) {
	if d.Update == nil {
		return tools.UpdateOut{}, errors.New("update: this daemon cannot re-execute itself (upgrade in place needs unix)")
	}
	return d.Update(ctx)
})
