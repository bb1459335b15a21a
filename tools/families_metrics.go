package tools

import "github.com/velos-pm/velos/tool"

// metricsTools are the metrics family's tools, in the order help lists them.
var metricsTools = []tool.Entry{Metrics, MetricsServe}
