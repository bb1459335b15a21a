package evals

// logCases are the evals of the log family's tools.
var logCases = []Case{}
