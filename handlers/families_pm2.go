package handlers

// habitHandlers answer the PM2 habits' tools and the import, in tools' order.
var habitHandlers = []Handler{Reset, Signal, PID, Env, ImportPM2}
