// Package metrics measures the processes Velos manages and the daemon itself,
// keeps a short history of those measurements, decides when a process has
// outgrown its max_memory limit, and exports everything to Prometheus.
//
// The pieces, and who drives them:
//
//   - [Sampler] takes one measurement pass over a set of [Target]s (one per
//     managed process: a stable key and the leader pid). Every figure in a
//     [Sample] is summed over the leader's whole process tree, because a
//     process manager that ignores `sh -c`, worker pools and forked children
//     reports a fraction of what an app really costs. The daemon either calls
//     [Sampler.Sample] itself or runs [Sampler.Run] in a goroutine.
//   - [History] is the per-process ring behind [Sampler.Stats] and
//     [Sampler.MemorySlope] (min/avg/max over a window, memory slope).
//   - [MemoryGuard] is the pure max_memory decision; the sampler keeps one per
//     target that has [Target.MaxMemory] set and reports its verdict in
//     [Sample.Memory].
//   - [NewHandler] and [Serve] expose /metrics from a [Source] the daemon
//     implements, written in the Prometheus text format by prom.go (no
//     client library: nothing runs at init, nothing listens until Serve).
//
// Linux reads procfs directly (one stat read per process); other systems use
// gopsutil. Both readers feed the same accounting code.
package metrics
