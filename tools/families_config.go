package tools

import "github.com/velos-pm/velos/tool"

// configTools are the config family's tools, in the order help lists them:
// applying config files, config as tools, save/resurrect, boot.
var configTools = []tool.Entry{Reload, ConfigValidate, ConfigGet, ConfigSet, Save, Resurrect, Startup, Unstartup}
