package tools

import "github.com/velos-pm/velos/tool"

// configTools are the config family's tools, in the order help lists them.
var configTools = []tool.Entry{}
