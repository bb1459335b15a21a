//go:build linux

package daemon

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen opens a datagram socket the way systemd does for NOTIFY_SOCKET.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNotifyPathAndAbstract(t *testing.T) {
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{filepath.Join(dir, "notify"), "@velos-test-" + strconv.Itoa(os.Getpid())} {
		t.Run(name, func(t *testing.T) {
			c := listen(t, name)
			t.Setenv("NOTIFY_SOCKET", name)
			t.Setenv("WATCHDOG_USEC", "200000")
			t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
			n := NotifierFromEnv()
			if os.Getenv("NOTIFY_SOCKET") != "" || os.Getenv("WATCHDOG_USEC") != "" {
				t.Fatal("the notify variables stay in the environment children inherit")
			}
			if got := n.WatchdogInterval(); got != 100*time.Millisecond {
				t.Fatalf("watchdog interval = %v, want 100ms", got)
			}
			if err := n.Notify("READY=1\nSTATUS=serving"); err != nil {
				t.Fatal(err)
			}
			if got := read(t, c); got != "READY=1\nSTATUS=serving" {
				t.Fatalf("got %q", got)
			}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { n.Watchdog(stop, func(err error) { t.Error(err) }); close(done) }()
			for range 2 {
				if got := read(t, c); got != "WATCHDOG=1" {
					t.Fatalf("got %q, want WATCHDOG=1", got)
				}
			}
			close(stop)
			<-done
		})
	}
}

func TestNotifyDisabled(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "1000")
	n := NotifierFromEnv()
	if n.Enabled() || n.WatchdogInterval() != 0 {
		t.Fatal("enabled without NOTIFY_SOCKET")
	}
	if err := n.Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	n.Watchdog(nil, nil) // returns at once: no watchdog

	// A watchdog meant for another pid (e.g. set for a parent shell) is not ours.
	t.Setenv("NOTIFY_SOCKET", "@x")
	t.Setenv("WATCHDOG_USEC", "1000")
	t.Setenv("WATCHDOG_PID", "1")
	if NotifierFromEnv().WatchdogInterval() != 0 {
		t.Fatal("took a watchdog meant for pid 1")
	}
}

func TestNotifyNoListener(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "absent"))
	err := NotifierFromEnv().Notify("READY=1")
	if err == nil || !strings.Contains(err.Error(), "absent") {
		t.Fatalf("err = %v, want one naming the socket", err)
	}
}
