package tools

import "github.com/velos-pm/velos/tool"

// logTools are the log family's tools, in the order help lists them.
var logTools = []tool.Entry{Logs, Flush}
