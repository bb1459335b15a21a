package evals

// configCases are the evals of the config family's tools.
var configCases = []Case{}
