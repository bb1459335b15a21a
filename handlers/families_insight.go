package handlers

// insightHandlers answer the insight family's tools, in tools' order.
var insightHandlers = []Handler{LogSearch, LogSummaryTool, ProcessHealth}
