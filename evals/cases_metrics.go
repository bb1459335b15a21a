package evals

// metricsCases are the evals of the metrics family's tools.
var metricsCases = []Case{
	// A fresh process must show real figures at once (the tool makes a pass
	// when the last one has not seen it, and one more 200 ms on when that
	// came too soon for a CPU figure), in humanised units.
	{Tool: "process_metrics", Setup: []Call{start("web")}, Args: map[string]any{"target": "web", "window": "5m"},
		Budget: 90, ListBudget: 120, Facts: []string{`"web"`, `"online"`, `"mem":"`, `"mem_max":"`, `"thr":1`, `"procs":1`, `"n":`}},
	{Tool: "metrics_serve", Args: map[string]any{"port": 0},
		Budget: 25, ListBudget: 140, Facts: []string{`"url":"http://127.0.0.1:`, "/metrics"}},
}
