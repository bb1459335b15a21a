package handlers

import (
	"context"

	"github.com/velos-pm/velos/tools"
)

// Export answers config_export for MCP clients as the CLI answers it
// itself: the file is read (and written) where the daemon runs, and the
// answer's secrets are masked.
var Export = Bind(tools.Export, func(ctx context.Context, d *Deps, in tools.ExportIn) (tools.ExportOut, error) {
	return tools.Export.RunLocal(ctx, in)
})
