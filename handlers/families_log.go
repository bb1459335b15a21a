package handlers

// logHandlers answer the log family's tools, in tools' order.
var logHandlers = []Handler{Logs, Flush}
