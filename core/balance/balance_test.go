package balance

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// guard bounds every wait in these tests; reaching it is a failure, never
// a way to synchronise.
const guard = 10 * time.Second

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// newBalancer serves on a fresh loopback port and, at the end of the test,
// closes it and checks that none of its goroutines is left.
func newBalancer(t *testing.T, s Strategy, opts ...Option) *Balancer {
	t.Helper()
	b := New(listen(t), s, nil, opts...)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkNoGoroutines(t)
	})
	return b
}

// checkNoGoroutines fails when a goroutine of the balancer is still there.
// Close has waited for each to signal its end (WaitGroup.Done, deferred),
// but one may not have returned yet: like goleak, give the scheduler a few
// turns before calling it a leak.
func checkNoGoroutines(t *testing.T) {
	t.Helper()
	var left []string
	for range 200 {
		left = left[:0]
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if strings.Contains(g, "core/balance.(*proxyConn)") || strings.Contains(g, "core/balance.(*Balancer)") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	t.Errorf("goroutines left after Close:\n%s", strings.Join(left, "\n\n"))
}

func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(guard):
		t.Fatalf("gave up waiting for %s", what)
	}
	var zero T
	return zero
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// tcpServer runs handle for each connection until the test ends, when it
// closes the listener and every connection and waits for the handlers.
func tcpServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln := listen(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	return ln.Addr().String()
}

// nameServer is a TCP instance that greets each connection with its name
// (so the instance speaks first) and holds it until the client closes.
func nameServer(t *testing.T, name string) string {
	return tcpServer(t, func(c net.Conn) {
		fmt.Fprintf(c, "%s\n", name)
		io.Copy(io.Discard, c)
	})
}

// echoServer echoes each connection and half-closes when the client does.
func echoServer(t *testing.T) string {
	return tcpServer(t, func(c net.Conn) {
		io.Copy(c, c)
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
	})
}

// greet dials the balancer and reads the instance's name.
func greet(t *testing.T, b *Balancer) (net.Conn, string) {
	t.Helper()
	c, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(guard))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read the instance's name: %v", err)
	}
	return c, strings.TrimSpace(line)
}

// httpInstance is an HTTP/1.1 instance answering its name, counting requests.
type httpInstance struct {
	name, addr string
	srv        *http.Server
	mu         sync.Mutex
	n          int
	waiters    map[int][]chan struct{}
}

func newHTTPInstance(t *testing.T, name string, handle func(w http.ResponseWriter, r *http.Request)) *httpInstance {
	t.Helper()
	ln := listen(t)
	h := &httpInstance{name: name, addr: ln.Addr().String(), waiters: map[int][]chan struct{}{}}
	h.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.n++
		for _, ch := range h.waiters[h.n] {
			close(ch)
		}
		delete(h.waiters, h.n)
		h.mu.Unlock()
		if handle != nil {
			handle(w, r)
			return
		}
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, name)
	})}
	done := make(chan struct{})
	go func() { h.srv.Serve(ln); close(done) }()
	t.Cleanup(func() { h.srv.Close(); <-done })
	return h
}

// served is closed once the instance has counted n requests.
func (h *httpInstance) served(n int) <-chan struct{} {
	ch := make(chan struct{})
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n >= n {
		close(ch)
	} else {
		h.waiters[n] = append(h.waiters[n], ch)
	}
	return ch
}

func (h *httpInstance) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

func get(client *http.Client, b *Balancer) (string, error) {
	resp, err := client.Get("http://" + b.Addr().String() + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(body), nil
}

func freshClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: guard}
}

func stat(b *Balancer, id int) Backend {
	for _, s := range b.Stats() {
		if s.ID == id {
			return s
		}
	}
	return Backend{ID: -1}
}

func TestRoundRobinSpreadsEvenly(t *testing.T) {
	b := newBalancer(t, RoundRobin)
	names := []string{"a", "b", "c", "d"}
	for i, n := range names {
		b.Add(i+1, nameServer(t, n))
	}
	got := map[string]int{}
	for range 40 {
		c, name := greet(t, b)
		got[name]++
		c.Close()
	}
	for i, n := range names {
		if got[n] != 10 {
			t.Errorf("instance %s got %d of 40 connections, want 10 (%v)", n, got[n], got)
		}
		if s := stat(b, i+1); s.Total != 10 || s.Requests != 0 || s.HTTP {
			t.Errorf("stats of %s: %+v, want 10 connections and no request", n, s)
		}
	}
}

func TestLeastConnPrefersTheIdleInstance(t *testing.T) {
	for _, tc := range []struct {
		s     Strategy
		wantB int // of the three connections opened once b is in rotation
	}{
		{LeastConn, 3},
		{RoundRobin, 1},
	} {
		t.Run(string(tc.s), func(t *testing.T) {
			b := newBalancer(t, tc.s)
			b.Add(1, nameServer(t, "a"))
			var held []net.Conn
			defer func() {
				for _, c := range held {
					c.Close()
				}
			}()
			for range 3 { // long connections, all on a
				c, name := greet(t, b)
				held = append(held, c)
				if name != "a" {
					t.Fatalf("only a is in rotation, got %s", name)
				}
			}
			b.Add(2, nameServer(t, "b"))
			onB := 0
			for range 3 {
				c, name := greet(t, b)
				held = append(held, c)
				if name == "b" {
					onB++
				}
			}
			if onB != tc.wantB {
				t.Errorf("%d of 3 new connections went to the idle instance, want %d", onB, tc.wantB)
			}
			if a := stat(b, 1); a.Active != int64(6-onB) {
				t.Errorf("a has %d active connections, want %d", a.Active, 6-onB)
			}
		})
	}
}

func TestRefusedDialIsRetriedElsewhere(t *testing.T) {
	b := newBalancer(t, RoundRobin)
	good := newHTTPInstance(t, "good", nil)
	b.Add(1, closedAddr(t))
	b.Add(2, good.addr)
	client := freshClient()
	for i := range 10 {
		body, err := get(client, b)
		if err != nil || body != "good" {
			t.Fatalf("request %d: %q, %v", i, body, err)
		}
	}
	if s := stat(b, 1); s.DialErrors == 0 || s.Total != 0 || !s.InRotation {
		t.Errorf("refusing instance: %+v, want dial errors, no connection, still in rotation", s)
	}
	if s := stat(b, 2); s.Total != 10 || s.Requests != 10 {
		t.Errorf("good instance: %+v, want 10 connections and 10 requests", s)
	}
}

func TestConnectionWaitsForAnInstance(t *testing.T) {
	waiting := make(chan struct{}, 1)
	b := newBalancer(t, RoundRobin, func(o *options) { o.onWait = func() { waiting <- struct{}{} } })
	h := newHTTPInstance(t, "late", nil)
	result := make(chan string, 1)
	go func() {
		body, err := get(freshClient(), b)
		result <- fmt.Sprint(body, err)
	}()
	within(t, waiting, "the connection to wait")
	b.Add(7, h.addr)
	if got := within(t, result, "the answer"); got != "late<nil>" {
		t.Fatalf("got %q, want the answer of the instance added later", got)
	}
}

func TestInstanceBackOnItsPortWithoutAdd(t *testing.T) {
	// A single instance restarting keeps its port: a connection that came
	// meanwhile is served once it listens again, with no call to Add.
	waiting := make(chan struct{}, 1)
	b := newBalancer(t, RoundRobin, func(o *options) { o.onWait = func() { waiting <- struct{}{} } })
	addr := closedAddr(t)
	b.Add(1, addr)
	result := make(chan string, 1)
	go func() {
		body, err := get(freshClient(), b)
		result <- fmt.Sprint(body, err)
	}()
	within(t, waiting, "the connection to wait")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "back") })}
	go srv.Serve(ln)
	defer srv.Close()
	if got := within(t, result, "the answer"); got != "back<nil>" {
		t.Fatalf("got %q", got)
	}
}

func TestWaitIsBounded(t *testing.T) {
	b := newBalancer(t, RoundRobin, WithWaitTimeout(50*time.Millisecond))
	c, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(guard))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil || isTimeout(err) {
		t.Fatalf("read %d, %v: want the connection closed once the wait is over", n, err)
	}
}

func TestDrainUnderLoad(t *testing.T) {
	for _, keepAlive := range []bool{true, false} {
		t.Run(fmt.Sprintf("keepalive=%v", keepAlive), func(t *testing.T) {
			b := newBalancer(t, RoundRobin)
			a, bb, c := newHTTPInstance(t, "a", nil), newHTTPInstance(t, "b", nil), newHTTPInstance(t, "c", nil)
			b.Add(1, a.addr)
			b.Add(2, bb.addr)
			client := &http.Client{Timeout: guard, Transport: &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 8}}
			defer client.CloseIdleConnections()

			var ok, failed atomic.Int64
			var firstErr atomic.Value
			var target atomic.Int64 // once ok reaches it, close reached
			reached := make(chan struct{})
			var once sync.Once
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for range 5000 { // bounded even if stop never came
						select {
						case <-stop:
							return
						default:
						}
						if _, err := get(client, b); err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err.Error())
						} else if n, tg := ok.Add(1), target.Load(); tg > 0 && n >= tg {
							once.Do(func() { close(reached) })
						}
					}
				})
			}
			within(t, a.served(20), "a to serve")
			b.Add(3, c.addr)
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			if err := b.Drain(ctx, 1); err != nil {
				t.Fatalf("Drain: %v", err)
			}
			if s := stat(b, 1); s.Active != 0 || s.InRotation {
				t.Fatalf("after Drain: %+v", s)
			}
			b.Remove(1)
			servedByA := a.count()
			a.srv.Close() // abrupt: any connection left on a would fail a request
			target.Store(ok.Load() + 200)
			within(t, reached, "200 more requests served by b and c")
			close(stop)
			wg.Wait()
			if f := failed.Load(); f != 0 {
				t.Fatalf("%d of %d requests failed, first: %v", f, f+ok.Load(), firstErr.Load())
			}
			if a.count() != servedByA {
				t.Errorf("a served %d requests after Drain returned", a.count()-servedByA)
			}
			if len(b.Stats()) != 2 {
				t.Errorf("Remove left %v", b.Stats())
			}
			t.Logf("%d requests, 0 failed; a served %d before it left", ok.Load(), servedByA)
		})
	}
}

func TestDrainWaitsForOpaqueConnections(t *testing.T) {
	b := newBalancer(t, RoundRobin)
	b.Add(1, nameServer(t, "a"))
	b.Add(2, nameServer(t, "b"))
	held, name := greet(t, b)
	if name != "a" {
		t.Fatalf("first connection went to %s", name)
	}
	drained := make(chan error, 1)
	go func() { drained <- b.Drain(context.Background(), 1) }()
	for range 3 {
		c, name := greet(t, b)
		c.Close()
		if name != "b" {
			t.Fatalf("a connection went to the draining instance %s", name)
		}
	}
	select {
	case err := <-drained:
		t.Fatalf("Drain returned (%v) while a connection was open on the instance", err)
	default:
	}
	// The held connection still works both ways while draining.
	held.Close()
	if err := within(t, drained, "Drain to return"); err != nil {
		t.Fatalf("Drain: %v", err)
	}

	// A drain that runs out of time says so.
	b.Add(1, nameServer(t, "a2"))
	c1, _ := greet(t, b)
	defer c1.Close()
	c2, _ := greet(t, b)
	defer c2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := b.Drain(ctx, 1)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "1 connections still open") {
		t.Fatalf("Drain with an open connection and a deadline: %v", err)
	}
	if err := b.Drain(context.Background(), 99); !errors.Is(err, ErrUnknownInstance) {
		t.Fatalf("Drain of an unknown id: %v", err)
	}
}

func TestHTTPStats(t *testing.T) {
	b := newBalancer(t, RoundRobin)
	const work = 5 * time.Millisecond
	for i := range 4 {
		h := newHTTPInstance(t, fmt.Sprint(i), func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(work) // the instance's work, whose latency the balancer should see
			io.WriteString(w, "ok")
		})
		b.Add(i, h.addr)
	}
	// Four keep-alive connections, one per instance, 25 requests each.
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 4 {
		client := &http.Client{Timeout: guard, Transport: &http.Transport{MaxConnsPerHost: 1}}
		conns := 0
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
			if !i.Reused {
				conns++
			}
		}}
		if _, err := doTraced(client, b, trace); err != nil { // open the connection first, so the four go round
			t.Fatal(err)
		}
		wg.Go(func() {
			defer client.CloseIdleConnections()
			for range 24 {
				if _, err := doTraced(client, b, trace); err != nil {
					errs <- err
				}
			}
			if conns != 1 {
				errs <- fmt.Errorf("the client opened %d connections, want 1", conns)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var total int64
	for _, s := range b.Stats() {
		total += s.Requests
		if s.Requests != 25 || s.Total != 1 || !s.HTTP {
			t.Errorf("instance %d: %d requests over %d connections (HTTP %v), want 25 over 1", s.ID, s.Requests, s.Total, s.HTTP)
		}
		if s.LatencyP50 < work*9/10 || s.LatencyP99 < s.LatencyP50 || s.LatencyP99 > time.Second {
			t.Errorf("instance %d: latency p50 %v p99 %v, want about %v", s.ID, s.LatencyP50, s.LatencyP99, work)
		}
		if s.RequestRate <= 0 {
			t.Errorf("instance %d: request rate %v", s.ID, s.RequestRate)
		}
	}
	if total != 100 {
		t.Errorf("%d requests counted, want 100", total)
	}

}

func TestOpaqueStreamCountsConnectionsOnly(t *testing.T) {
	e := newBalancer(t, RoundRobin)
	e.Add(1, echoServer(t))
	c, err := net.Dial("tcp", e.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	msg := "GET is not how this starts\r\nhello\r\n\r\n"
	io.WriteString(c, "\x00"+msg)
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(guard))
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || string(got) != "\x00"+msg {
		t.Fatalf("echo: %q, %v", got, err)
	}
	if s := stat(e, 1); s.Total != 1 || s.Requests != 0 || s.HTTP || s.LatencyP50 != 0 {
		t.Errorf("echo stream stats: %+v, want 1 connection and no request", s)
	}
}

func doTraced(client *http.Client, b *Balancer, trace *httptrace.ClientTrace) (string, error) {
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "http://"+b.Addr().String()+"/", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

func TestPipelinedAndHeadRequests(t *testing.T) {
	b := newBalancer(t, RoundRobin)
	h := newHTTPInstance(t, "p", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
	})
	b.Add(1, h.addr)
	c, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(guard))
	io.WriteString(c, "HEAD /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"+
		"POST /3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /4 HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	for i, method := range []string{"HEAD", "GET", "POST", "GET"} {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("response %d: %v", i+1, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if want := map[bool]string{true: "", false: "hello"}[method == "HEAD"]; string(body) != want {
			t.Fatalf("response %d body %q", i+1, body)
		}
	}
	if s := stat(b, 1); s.Requests != 4 || s.LatencyP50 == 0 {
		t.Errorf("stats %+v, want 4 requests with latencies", s)
	}
}

func TestUpgradedStreamIsRelayedNotCounted(t *testing.T) {
	b := newBalancer(t, RoundRobin)
	h := newHTTPInstance(t, "ws", func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		io.Copy(conn, brw)
	})
	b.Add(1, h.addr)
	c, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(guard))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	// HTTP-looking bytes inside the upgraded stream are not requests.
	msg := "GET /not-a-request HTTP/1.1\r\n\r\n"
	io.WriteString(c, msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != msg {
		t.Fatalf("echo through the upgraded stream: %q, %v", got, err)
	}
	if s := stat(b, 1); s.Requests != 1 {
		t.Errorf("%d requests counted, want 1 (the upgrade)", s.Requests)
	}
}

func TestIdleKeepAliveClosedByInstanceStaysOpenForTheClient(t *testing.T) {
	released := make(chan int, 16)
	b := newBalancer(t, RoundRobin, func(o *options) { o.onRelease = func(id int) { released <- id } })
	h := newHTTPInstance(t, "h", nil)
	b.Add(1, h.addr)
	client := &http.Client{Timeout: guard, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	var reused []bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
	if _, err := doTraced(client, b, trace); err != nil {
		t.Fatal(err)
	}
	// The instance closes its idle connections (its idle timeout, or a
	// graceful shutdown would): the balancer lets that leg go ...
	h.srv.SetKeepAlivesEnabled(false) // closes idle connections now
	if id := within(t, released, "the instance's connection to end"); id != 1 {
		t.Fatalf("released %d", id)
	}
	h.srv.SetKeepAlivesEnabled(true)
	// ... and the client's next request, on the same connection, is served.
	for range 3 {
		if _, err := doTraced(client, b, trace); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(reused) != "[false true true true]" {
		t.Fatalf("client connection reuse %v: the client saw its connection closed", reused)
	}
}

func TestHalfClose(t *testing.T) {
	// The instance answers only once the client has finished sending.
	ln := listen(t)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				h := sha256.New()
				n, _ := io.Copy(h, c)
				fmt.Fprintf(c, "%d %x", n, h.Sum(nil))
			}()
		}
	}()
	b := newBalancer(t, RoundRobin)
	b.Add(1, ln.Addr().String())
	c, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(guard))
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	data[0] = 0 // not HTTP
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if want := fmt.Sprintf("%d %x", len(data), sha256.Sum256(data)); err != nil || string(got) != want {
		t.Fatalf("answer after half-close: %q, %v; want %q", got, err, want)
	}
}

func TestHalfCloseTimeout(t *testing.T) {
	// An instance that never closes once the client has: the balancer
	// closes after the half-close timeout instead of waiting for ever.
	ln := listen(t)
	defer ln.Close()
	instanceSaw := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(io.Discard, c) // the client's FIN ...
		c.SetReadDeadline(time.Now().Add(guard))
		_, err = c.Read(make([]byte, 1)) // ... and then the balancer's close
		instanceSaw <- err
	}()
	b := newBalancer(t, RoundRobin, WithHalfCloseTimeout(50*time.Millisecond))
	b.Add(1, ln.Addr().String())
	c, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "bye")
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(guard))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("client: %v, want the connection closed", err)
	}
	if err := within(t, instanceSaw, "the instance to see the close"); isTimeout(err) {
		t.Fatalf("instance: %v", err)
	}
}

func TestLargeBodies(t *testing.T) {
	b := newBalancer(t, LeastConn)
	const size = 8 << 20
	h := newHTTPInstance(t, "big", func(w http.ResponseWriter, r *http.Request) {
		sum := sha256.New()
		n, _ := io.Copy(sum, r.Body)
		w.Header().Set("X-Got", fmt.Sprintf("%d %x", n, sum.Sum(nil)))
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", fmt.Sprint(size))
		}
		io.Copy(w, io.LimitReader(zeros{}, size))
	})
	b.Add(1, h.addr)
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	want := fmt.Sprintf("%d %x", size, sha256.Sum256(data))
	client := &http.Client{Timeout: guard}
	defer client.CloseIdleConnections()
	for _, q := range []string{"", "chunked=1"} {
		// A body of unknown length goes chunked; a known one with a length.
		for _, body := range []io.Reader{strings.NewReader(string(data)), io.MultiReader(strings.NewReader(string(data)))} {
			resp, err := client.Post("http://"+b.Addr().String()+"/?"+q, "application/octet-stream", body)
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != size || resp.Header.Get("X-Got") != want {
				t.Fatalf("%s: got %d bytes (%v), instance saw %q", q, n, err, resp.Header.Get("X-Got"))
			}
		}
	}
	if s := stat(b, 1); s.Requests != 4 || s.Total != 1 {
		t.Errorf("stats %+v: want 4 requests over 1 connection", s)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestCloseEndsEverything(t *testing.T) {
	waiting := make(chan struct{}, 1)
	a := nameServer(t, "a")
	b := New(listen(t), RoundRobin, nil, func(o *options) { o.onWait = func() { waiting <- struct{}{} } })
	t.Cleanup(func() { b.Close() }) // on a failure; the test closes it itself
	b.Add(1, closedAddr(t))
	b.Add(2, a)
	var clients []net.Conn
	for range 2 {
		c, name := greet(t, b)
		if name != "a" {
			t.Fatalf("got %s", name)
		}
		clients = append(clients, c)
	}
	// Out of rotation at once, and still draining when Close comes.
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := b.Drain(ctx, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain with two connections open: %v", err)
	}
	drained := make(chan error, 1)
	go func() { drained <- b.Drain(context.Background(), 2) }()
	// Only the refusing instance is left: a new connection waits.
	w, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	clients = append(clients, w)
	within(t, waiting, "a connection to wait")

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	checkNoGoroutines(t)
	if err := within(t, drained, "Drain to return"); err != nil {
		t.Errorf("Drain during Close: %v", err)
	}
	for i, c := range clients {
		c.SetReadDeadline(time.Now().Add(guard))
		if _, err := io.ReadAll(c); err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
			t.Errorf("client %d after Close: %v", i, err)
		}
		c.Close()
	}
	if _, err := net.Dial("tcp", b.Addr().String()); err == nil {
		t.Error("the listener still accepts after Close")
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestParseStrategy(t *testing.T) {
	for _, s := range []string{"round-robin", "least-conn"} {
		if got, err := ParseStrategy(s); err != nil || string(got) != s {
			t.Errorf("ParseStrategy(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := ParseStrategy("socket"); err == nil || !strings.Contains(err.Error(), `"socket"`) {
		t.Errorf("ParseStrategy(socket): %v", err)
	}
}

func TestLongBodiesEndWhereTheirLengthSays(t *testing.T) {
	// Bodies of known length from spliceMin up are moved by the kernel: the
	// message after one, pipelined in the same write, must still be seen.
	const size = 3*spliceMin + 123
	b := newBalancer(t, RoundRobin)
	h := newHTTPInstance(t, "big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Got", fmt.Sprint(n))
		w.Header().Set("Content-Length", fmt.Sprint(size))
		io.Copy(w, io.LimitReader(zeros{}, size))
	})
	b.Add(1, h.addr)
	c, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(guard))
	go func() {
		head := fmt.Sprintf("POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
		c.Write([]byte(head + strings.Repeat("y", size) + "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n" + head + strings.Repeat("z", size)))
	}()
	br := bufio.NewReader(c)
	for i, want := range []string{fmt.Sprint(size), "0", fmt.Sprint(size)} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i+1, err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil || n != size || resp.Header.Get("X-Got") != want {
			t.Fatalf("response %d: %d bytes (%v), instance got %s bytes, want %s", i+1, n, err, resp.Header.Get("X-Got"), want)
		}
	}
	if s := stat(b, 1); s.Requests != 3 || s.Total != 1 {
		t.Errorf("stats %+v: want 3 requests on 1 connection", s)
	}
	// The connection is still followed: drained, it moves at once.
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := b.Drain(ctx, 1); err != nil {
		t.Fatalf("Drain: %v", err)
	}
}

func TestSpareConnectionMovesOnDrain(t *testing.T) {
	// A client's spare connection (opened, nothing sent yet) does not hold
	// a draining instance: it moves, and its first request is served by an
	// instance in rotation.
	dialled := make(chan int, 4)
	b := newBalancer(t, RoundRobin, func(o *options) { o.onDial = func(id int) { dialled <- id } })
	a, other := newHTTPInstance(t, "a", nil), newHTTPInstance(t, "other", nil)
	b.Add(1, a.addr)
	c, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if id := within(t, dialled, "the connection to reach a"); id != 1 {
		t.Fatalf("dialled %d", id)
	}
	b.Add(2, other.addr)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := b.Drain(ctx, 1); err != nil {
		t.Fatalf("Drain with a spare connection open: %v", err)
	}
	c.SetDeadline(time.Now().Add(guard))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "other" || a.count() != 0 {
		t.Fatalf("answer %q (a served %d): want the instance in rotation", body, a.count())
	}
}

func TestInstanceClosingAtOnceIsInvisible(t *testing.T) {
	// An instance that accepts and closes at once (it is stopping: its
	// backlog is dropped) before a byte passed is, for the client, like one
	// that refuses: the connection moves to another instance.
	released := make(chan int, 16)
	b := newBalancer(t, RoundRobin, func(o *options) { o.onRelease = func(id int) { released <- id } })
	dying := tcpServer(t, func(c net.Conn) {})
	good := newHTTPInstance(t, "good", nil)
	b.Add(1, dying)
	b.Add(2, good.addr)
	c, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if id := within(t, released, "the closing instance to drop the connection"); id != 1 {
		t.Fatalf("released %d", id)
	}
	c.SetDeadline(time.Now().Add(guard))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := io.ReadAll(resp.Body); string(body) != "good" {
		t.Fatalf("answer %q", body)
	}

	// When every instance does it, the client is told (closed), not kept
	// going round.
	b.Remove(2)
	c2, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetReadDeadline(time.Now().Add(guard))
	if n, err := c2.Read(make([]byte, 1)); n != 0 || isTimeout(err) {
		t.Fatalf("read %d, %v: want the connection closed", n, err)
	}
}
