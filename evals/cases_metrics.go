package evals

// metricsCases are the evals of the metrics family's tools.
var metricsCases = []Case{}
