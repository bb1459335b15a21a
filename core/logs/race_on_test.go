//go:build race

package logs

// raceEnabled: the race detector makes sync.Pool drop a quarter of what it
// is given, on purpose, so pooled paths allocate.
const raceEnabled = true
