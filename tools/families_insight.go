package tools

import "github.com/velos-pm/velos/tool"

// insightTools are the insight family's tools, in the order help lists them.
var insightTools = []tool.Entry{LogSearch, LogSummaryTool, ProcessHealth}
