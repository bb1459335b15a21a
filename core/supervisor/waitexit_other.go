//go:build !linux

package supervisor

// waitExited returns at once: cmd.Wait does the waiting (see the Linux
// version for why it may not).
func waitExited(pid int) {}
