package handlers

// metricsHandlers answer the metrics family's tools, in tools' order.
var metricsHandlers = []Handler{Metrics, MetricsServe}
