package handlers

import (
	"context"

	"github.com/velos-pm/velos/tools"
)

// ImportPM2 answers config_import_pm2 for MCP clients as the CLI answers it
// itself: the files are read and written where the daemon runs.
var ImportPM2 = Bind(tools.ImportPM2, func(ctx context.Context, d *Deps, in tools.ImportPM2In) (tools.ImportPM2Out, error) {
	return tools.ImportPM2.RunLocal(ctx, in)
})
