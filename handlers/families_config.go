package handlers

// configHandlers answer the config family's tools, in tools' order.
var configHandlers = []Handler{Reload, ConfigValidate, ConfigGet, ConfigSet, Export, Save, Resurrect, Startup, Unstartup}
