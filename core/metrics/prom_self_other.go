//go:build !linux

package metrics

// selfFamilies has no process_* series off Linux: the daemon's own figures
// are in the velos_daemon_* ones.
func selfFamilies() []*family { return nil }
