package evals

// insightCases are the evals of the insight family's tools.
var insightCases = []Case{}
