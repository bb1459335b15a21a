//go:build !linux

package daemon

// systemd is Linux only: elsewhere notifications are no-ops.
const notifySupported = false

func sendNotify(string, string) error { return nil }
