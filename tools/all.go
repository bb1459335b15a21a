package tools

import "github.com/velos-pm/velos/tool"

// All is every tool, in the order help and docs list them.
var All = []tool.Entry{
	Start, List, Describe, Stop, Restart, Delete, Kill,
}
