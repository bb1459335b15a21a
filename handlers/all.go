package handlers

import "slices"

// All answers every tool of tools.All, in the same order (a test holds the
// two lists to each other). Each family keeps its own list in its own file
// (families_*.go), as tools/ does.
var All = slices.Concat(lifecycleHandlers, logHandlers, insightHandlers, configHandlers, metricsHandlers, habitHandlers)

var lifecycleHandlers = []Handler{Start, List, Describe, Stop, Restart, Scale, Delete, Kill, Update, MCPHTTP}
