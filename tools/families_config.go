package tools

import "github.com/velos-pm/velos/tool"

// configTools are the config family's tools, in the order help lists them:
// applying config files, config as tools, export to other managers,
// save/resurrect, boot.
var configTools = []tool.Entry{Reload, ConfigValidate, ConfigGet, ConfigSet, Export, Save, Resurrect, Startup, Unstartup}
