package daemon

import (
	"os"
	"strconv"
	"time"
)

// Notifier sends service-manager notifications (the sd_notify protocol):
// READY=1 once the daemon serves, WATCHDOG=1 keep-alives, STOPPING=1. It is
// inert when the daemon was not started by systemd with Type=notify, and on
// systems without unix datagram sockets.
type Notifier struct {
	socket   string        // NOTIFY_SOCKET: a path, or @name for an abstract socket
	watchdog time.Duration // WATCHDOG_USEC, 0 when unset or meant for another pid
}

// NotifierFromEnv reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, then
// removes them from the environment: they are for the daemon, and children
// that inherited them could answer systemd in its name.
func NotifierFromEnv() *Notifier {
	n := &Notifier{socket: os.Getenv("NOTIFY_SOCKET")}
	if us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64); err == nil && us > 0 {
		pid, perr := strconv.Atoi(os.Getenv("WATCHDOG_PID"))
		if perr != nil || pid == os.Getpid() {
			n.watchdog = time.Duration(us) * time.Microsecond
		}
	}
	for _, k := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} {
		os.Unsetenv(k)
	}
	return n
}

// Environ is what [NotifierFromEnv] read, for this daemon's own process
// after it re-executes itself (velos update): the same pid still answers
// to the service manager.
func (n *Notifier) Environ() []string {
	if n.socket == "" {
		return nil
	}
	env := []string{"NOTIFY_SOCKET=" + n.socket}
	if n.watchdog > 0 {
		env = append(env, "WATCHDOG_USEC="+strconv.FormatInt(n.watchdog.Microseconds(), 10), "WATCHDOG_PID="+strconv.Itoa(os.Getpid()))
	}
	return env
}

// Enabled reports whether a service manager listens.
func (n *Notifier) Enabled() bool { return n.socket != "" && notifySupported }

// WatchdogInterval is how often to send WATCHDOG=1 (half the manager's
// timeout, as sd_watchdog_enabled(3) advises); 0 when no watchdog is set.
func (n *Notifier) WatchdogInterval() time.Duration {
	if !n.Enabled() {
		return 0
	}
	return n.watchdog / 2
}

// Notify sends state, e.g. "READY=1\nSTATUS=serving". It does nothing when
// no manager listens.
func (n *Notifier) Notify(state string) error {
	if !n.Enabled() {
		return nil
	}
	return sendNotify(n.socket, state)
}

// Watchdog sends WATCHDOG=1 every WatchdogInterval until stop is closed.
// It returns at once when no watchdog is set.
func (n *Notifier) Watchdog(stop <-chan struct{}, onErr func(error)) {
	iv := n.WatchdogInterval()
	if iv <= 0 {
		return
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if err := n.Notify("WATCHDOG=1"); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}
