package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultListenTimeout is how long a process may take to become ready.
const DefaultListenTimeout = 30 * time.Second

// readiness is what one run must show before it counts as ready. All of
// what is set must hold.
type readiness struct {
	notify    bool   // READY=1 on NOTIFY_SOCKET, or process.send('ready')
	listening bool   // the Node preload listens on the shared socket
	tcp       string // this address accepts connections
	http      string // this URL answers 2xx
}

func (rd readiness) describe() []string {
	var w []string
	if rd.notify {
		w = append(w, "READY=1")
	}
	if rd.listening {
		w = append(w, "listen()")
	}
	if rd.tcp != "" {
		w = append(w, "tcp "+rd.tcp)
	}
	if rd.http != "" {
		w = append(w, "http "+rd.http)
	}
	return w
}

// awaitReadiness waits for every condition; the run is ready once they all
// hold, or failed (and ended) when the time is up first. A run that ends
// before is left to the supervision loop.
func (r *run) awaitReadiness(rd readiness, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	go func() {
		select {
		case <-r.ended:
			cancel()
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var missing []string
	check := func(what string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil {
				mu.Lock()
				missing = append(missing, what)
				mu.Unlock()
			}
		}()
	}
	waitFor := func(ch <-chan struct{}) func(context.Context) error {
		return func(ctx context.Context) error {
			select {
			case <-ch:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if rd.notify {
		check("READY=1 (sd_notify or process.send('ready'))", waitFor(r.gotReady))
	}
	if rd.listening {
		check("listen() on port "+strconv.Itoa(r.port)+" (a program that does not serve that port wants mode = \"fork\")", waitFor(r.gotListen))
	}
	if rd.tcp != "" {
		check("a TCP connection to "+rd.tcp, func(ctx context.Context) error { return probeTCP(ctx, rd.tcp) })
	}
	if rd.http != "" {
		check("a 2xx answer from "+rd.http, func(ctx context.Context) error { return probeHTTP(ctx, rd.http) })
	}
	wg.Wait()
	select {
	case <-r.ended:
		return
	default:
	}
	if len(missing) > 0 {
		r.p.failRun(r, fmt.Sprintf("not ready after %s: no %s", timeout, strings.Join(missing, ", no ")))
		return
	}
	r.p.markReady(r)
}

// probeBackoff spaces probes: quick at first, then at most twice a second.
func probeBackoff(i int) time.Duration {
	return min(time.Duration(25<<min(i, 5))*time.Millisecond, 500*time.Millisecond)
}

func probeTCP(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: time.Second}
	for i := 0; ; i++ {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(probeBackoff(i)):
		}
	}
}

func probeHTTP(ctx context.Context, url string) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; ; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode >= 200 && resp.StatusCode < 300 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(probeBackoff(i)):
		}
	}
}

// watchdog restarts the run (cause watchdog) when, once ready, it lets
// longer than its watchdog interval pass without WATCHDOG=1. The interval
// comes from the spec or from WATCHDOG_USEC=… sent by the program; 0 = off.
func (r *run) watchdog(every time.Duration) {
	select {
	case <-r.ready:
	case <-r.ended:
		return
	}
	var t *time.Timer
	var expired <-chan time.Time
	arm := func() {
		if t != nil {
			t.Stop()
		}
		expired = nil
		if every > 0 {
			t = time.NewTimer(every)
			expired = t.C
		}
	}
	arm()
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		select {
		case <-r.ended:
			return
		case <-r.pings:
			arm()
		case every = <-r.watchdogs:
			arm()
		case <-expired:
			r.p.failRun(r, fmt.Sprintf("%s: no WATCHDOG=1 for %s", CauseWatchdog, every))
			return
		}
	}
}

// notified applies one sd_notify datagram: newline-separated KEY=VALUE
// assignments (sd_notify(3)).
func (r *run) notified(msg string) {
	p := r.p
	for _, line := range strings.Split(msg, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "READY":
			if v == "1" {
				p.mu.Lock()
				closeOnce(r.gotReady, &r.flags.ready)
				p.mu.Unlock()
			}
		case "STATUS":
			p.mu.Lock()
			r.notice = v
			p.mu.Unlock()
		case "STOPPING":
			if v == "1" {
				p.mu.Lock()
				r.notice = "stopping"
				sh := p.share
				p.mu.Unlock()
				sh.outOfRotation(r)
			}
		case "WATCHDOG":
			switch v {
			case "1":
				select {
				case r.pings <- struct{}{}:
				default:
				}
			case "trigger":
				go p.failRun(r, string(CauseWatchdog)+": the program asked (WATCHDOG=trigger)")
			}
		case "WATCHDOG_USEC":
			if us, err := strconv.ParseInt(v, 10, 64); err == nil && us >= 0 {
				select {
				case r.watchdogs <- time.Duration(us) * time.Microsecond:
				default:
				}
			}
		}
	}
}

// readNotify reads the run's NOTIFY_SOCKET until it is closed. A datagram
// counts only when its sender is the run's process or of its process group
// (see fromRun), as systemd's NotifyAccess=main: a grandchild that
// inherited NOTIFY_SOCKET cannot feed a hung parent's watchdog.
func (r *run) readNotify(c net.PacketConn) {
	buf := make([]byte, 4096)
	oob := make([]byte, 256)
	uc, _ := c.(interface {
		ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error)
	})
	for {
		var n, oobn int
		var err error
		if uc != nil {
			n, oobn, _, _, err = uc.ReadMsgUnix(buf, oob)
		} else {
			n, _, err = c.ReadFrom(buf)
		}
		if err != nil {
			return
		}
		if !r.fromRun(oob[:oobn]) {
			continue
		}
		r.notified(string(buf[:n]))
	}
}

// ipcMessage is one message of Node's IPC channel: a user message
// (process.send(msg)), or Node's envelope for one sent with a handle.
type ipcMessage struct {
	Cmd string          `json:"cmd"`
	Msg json.RawMessage `json:"msg"`
}

// onIPC applies one message of Node's IPC channel: process.send('ready') as
// PM2 has it, and the preload's reports. file is the descriptor sent with
// it (a listening socket the preload hands over), or nil.
func (r *run) onIPC(line []byte, file *os.File) {
	p := r.p
	var env ipcMessage
	if json.Unmarshal(line, &env) == nil && env.Cmd == "NODE_HANDLE" {
		line = env.Msg
	}
	var msg any
	if json.Unmarshal(line, &msg) != nil {
		if file != nil {
			file.Close()
		}
		return
	}
	if m, ok := msg.(map[string]any); ok && m["velos"] == "socket" && file != nil {
		port, _ := m["port"].(float64)
		p.learnSocket(r, int(port), file)
		file = nil
		// A program listening on a port of its own choosing is listening:
		// a reload waiting for that may go on.
		p.mu.Lock()
		closeOnce(r.gotListen, &r.flags.listening)
		p.mu.Unlock()
	}
	if file != nil {
		file.Close()
	}
	switch m := msg.(type) {
	case string:
		if m == "ready" {
			p.mu.Lock()
			closeOnce(r.gotReady, &r.flags.ready)
			p.mu.Unlock()
		}
	case map[string]any:
		switch m["velos"] {
		case "listening":
			port, _ := m["port"].(float64)
			p.mu.Lock()
			r.took = append(r.took, int(port))
			closeOnce(r.gotListen, &r.flags.listening)
			p.mu.Unlock()
		case "lag":
			ms := func(k string) time.Duration {
				f, _ := m[k].(float64)
				return time.Duration(f * float64(time.Millisecond))
			}
			l := &Lag{P50: ms("p50"), P99: ms("p99"), Max: ms("max"), At: p.m.now()}
			p.mu.Lock()
			r.lag = l
			p.mu.Unlock()
		}
	}
}

// isHandleMessage reports whether an IPC line is Node's envelope of a
// message sent with a handle.
func isHandleMessage(line []byte) bool {
	var env ipcMessage
	return json.Unmarshal(line, &env) == nil && env.Cmd == "NODE_HANDLE"
}

// specProbes is the readiness a spec asks for, $PORT being port: a launch
// adds what Velos infers from a port it bound; an adopted run that was not
// ready yet waits for this alone (what was inferred is not known again).
func specProbes(spec Spec, port int) readiness {
	expand := func(s string) string {
		return strings.NewReplacer("${PORT}", strconv.Itoa(port), "$PORT", strconv.Itoa(port)).Replace(s)
	}
	rd := readiness{notify: spec.WaitReady}
	if spec.ReadyTCP != "" {
		rd.tcp = expand(spec.ReadyTCP)
		if strings.HasPrefix(rd.tcp, ":") {
			rd.tcp = "127.0.0.1" + rd.tcp
		}
	}
	if spec.ReadyHTTP != "" {
		rd.http = expand(spec.ReadyHTTP)
	}
	return rd
}
