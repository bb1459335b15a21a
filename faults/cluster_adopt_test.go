//go:build linux && faults

package faults

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/velos-pm/velos/internal/testenv"
)

// get asks url with a fresh connection and returns the body (the pid of the
// instance that answered).
func get(url string) (string, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	return testenv.Answer(c.Get(url))
}

// A cluster behind Velos's balancer survives kill -9 of the daemon: the
// keeper holds the balancer's listening socket, so a request made during
// the gap waits in its backlog and is answered once the next daemon has
// adopted the instances; then every instance is in rotation again, and a
// restarted one takes its place behind the same port.
//
// The same with the socket passed to the instances (LISTEN_FDS): they serve
// on through the gap themselves, and a restarted one gets the same socket
// (the port is not bound again: its instances still hold it).
func TestClusterAcrossKill(t *testing.T) {
	t.Parallel()
	for _, balance := range []string{"round-robin", "socket"} {
		t.Run(balance, func(t *testing.T) {
			t.Parallel()
			args := []string{"-serve", "port"}
			if balance == "socket" {
				args = []string{"-serve", "fds"}
			}
			clusterAcrossKill(t, balance, args)
		})
	}
}

func clusterAcrossKill(t *testing.T, balance string, appArgs []string) {
	e := newEnv(t)
	port := testenv.FreePort(t)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	e.MustRun(append([]string{"start", testenv.TestApp(t), "--name", "rr", "-i", "3", "--listen", "127.0.0.1:" + strconv.Itoa(port),
		"--balance", balance, "--"}, appArgs...)...)
	before := map[int]bool{}
	for _, p := range e.list() {
		before[p.PID] = true
	}
	e.killDaemon()
	type answer struct {
		pid string
		err error
	}
	during := make(chan answer, 1)
	go func() { pid, err := get(url); during <- answer{pid, err} }()

	ps := e.list() // the next daemon adopts
	if c := e.copies()["rr"]; len(ps) != 3 || len(c) != 3 {
		t.Fatalf("%d listed, %d running, want 3", len(ps), len(c))
	}
	for _, p := range ps {
		if !before[p.PID] || p.Status != "online" {
			t.Fatalf("not adopted: %+v (had %v)", p, before)
		}
	}
	if a := <-during; a.err != nil {
		t.Fatalf("the request made while no daemon ran: %v", a.err)
	}
	seen := map[string]bool{}
	for range 9 {
		pid, err := get(url)
		if err != nil {
			t.Fatal(err)
		}
		seen[pid] = true
	}
	if balance != "socket" && len(seen) != 3 { // with a shared socket the kernel picks
		t.Fatalf("after adoption %d instances answer, want 3: %v", len(seen), seen)
	}
	e.MustRun("restart", "rr")
	for range 6 {
		if _, err := get(url); err != nil {
			t.Fatalf("after a restart of the adopted cluster: %v", err)
		}
	}
	if c := e.copies()["rr"]; len(c) != 3 {
		t.Fatalf("after the restart %d run, want 3", len(c))
	}
}
