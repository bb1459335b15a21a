package tools

import "github.com/velos-pm/velos/tool"

// habitTools are the commands PM2 users reach for (reset, signal, pid, env)
// and the import of their PM2 files, in the order help lists them.
var habitTools = []tool.Entry{Reset, Signal, PID, Env, ImportPM2}
