package handlers

import (
	"context"

	"github.com/velos-pm/velos/tools"
)

// ConfigValidate answers config_validate for MCP clients the way the CLI
// answers it itself: the file is read where the daemon runs.
var ConfigValidate = Bind(tools.ConfigValidate, func(ctx context.Context, d *Deps, in tools.ConfigValidateIn) (tools.ConfigValidateOut, error) {
	return tools.ConfigValidate.RunLocal(ctx, in)
})
