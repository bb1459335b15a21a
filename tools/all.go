package tools

import (
	"slices"

	"github.com/velos-pm/velos/tool"
)

// All is every tool, in the order help and docs list them. Each family keeps
// its own list in its own file (families_*.go), so families grow apart.
var All = slices.Concat(lifecycleTools, logTools, insightTools, configTools, metricsTools, habitTools)

var lifecycleTools = []tool.Entry{Start, List, Describe, Stop, Restart, Scale, Delete, Kill, Update, MCPHTTP}
