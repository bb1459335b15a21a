package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

// nodeServer answers every request with its pid, on $PORT.
const nodeServer = `require("http").createServer((q, s) => s.end("pid " + process.pid + "\n")).listen(Number(process.env.PORT));
`

// startAsync runs `velos start args…` in the background: start returns only
// once the process is ready, and the test wants to look meanwhile.
func startAsync(e *testenv.Env, args ...string) <-chan testenv.Result {
	ch := make(chan testenv.Result, 1)
	go func() { ch <- e.Run(append([]string{"start"}, args...)...) }()
	return ch
}

// waitStatus waits until name's first instance has status st.
func waitStatus(t *testing.T, e *testenv.Env, name, st string, d time.Duration) tools.ProcessInfo {
	t.Helper()
	var p *tools.ProcessInfo
	waitFor(t, name+" "+st, d, func() bool {
		p = find(list(t, e), name)
		return p != nil && p.Status == st
	})
	return *p
}

// client makes one connection per request, so that each request is a new
// choice of instance and a refused or reset connection shows as an error.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

// answeredBy asks url which pid answers.
func answeredBy(url string) (string, error) {
	return testenv.Answer(noKeepAlive.Get(url))
}

// answering collects the pids that answer n requests made by c concurrent
// clients; any failed request fails the test.
func answering(t *testing.T, url string, n, c int) map[string]int {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / c {
				pid, err := answeredBy(url)
				mu.Lock()
				if err != nil {
					t.Errorf("request: %v", err)
				} else {
					seen[pid]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return seen
}

// load runs a request loop against url until stop is closed, and reports
// how many requests succeeded, the errors, and the pids that answered.
type load struct {
	ok   int
	errs []string
	pids map[string]bool
}

// keepAlive holds its connections open between requests, as browsers and
// load generators do. Its requests are POSTs: Go's client would retry a GET
// that failed on a reused connection and hide the loss.
var keepAlive = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 10 * time.Second}

// answeredByKeepAlive is answeredBy over keepAlive.
func answeredByKeepAlive(url string) (string, error) {
	return testenv.Answer(keepAlive.Post(url, "text/plain", nil))
}

// runLoads runs, until stop, one loop with a new connection per request and
// four that keep theirs, and adds their counts up.
func runLoads(url string, stop <-chan struct{}) <-chan load {
	out := make(chan load, 1)
	ch := []<-chan load{runLoadWith(url, stop, answeredBy)}
	for range 4 {
		ch = append(ch, runLoadWith(url, stop, answeredByKeepAlive))
	}
	go func() {
		all := load{pids: map[string]bool{}}
		for _, c := range ch {
			l := <-c
			all.ok += l.ok
			all.errs = append(all.errs, l.errs...)
			for p := range l.pids {
				all.pids[p] = true
			}
		}
		out <- all
	}()
	return out
}

func runLoadWith(url string, stop <-chan struct{}, get func(string) (string, error)) <-chan load {
	out := make(chan load, 1)
	go func() {
		l := load{pids: map[string]bool{}}
		for {
			select {
			case <-stop:
				out <- l
				return
			default:
			}
			pid, err := get(url)
			if err != nil {
				if len(l.errs) < 10 {
					l.errs = append(l.errs, time.Now().Format("15:04:05.000")+" "+err.Error())
				}
				continue
			}
			l.ok++
			l.pids[pid] = true
		}
	}()
	return out
}

func history(t *testing.T, e *testenv.Env, target string) []string {
	t.Helper()
	var causes []string
	for _, d := range describeAll(t, e, target) {
		for _, h := range d.History {
			causes = append(causes, h.Cause)
		}
	}
	return causes
}

// TestReadinessSdNotify: launching until READY=1, online after; never ready
// fails the start after listen_timeout with that reason; a watchdog that
// stops being fed restarts the process with cause watchdog.
func TestReadinessSdNotify(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	app := testenv.TestApp(t)
	e.MustRun("list") // the daemon first: the timing below is the app's

	begin := time.Now()
	done := startAsync(e, app, "--name", "late", "--wait-ready", "--", "-ready-after", "2s", "-status", "warming up")
	p := waitStatus(t, e, "late", "launching", 5*time.Second)
	if !strings.Contains(p.Reason, "READY=1") {
		t.Errorf("a launching process says what it waits for: %+v", p)
	}
	r := <-done
	if r.Code != 0 || time.Since(begin) < 2*time.Second {
		t.Fatalf("start returned after %s: %+v", time.Since(begin), r)
	}
	if p := find(list(t, e), "late"); p.Status != "online" {
		t.Fatalf("after READY=1: %+v", p)
	}
	if d := describeAll(t, e, "late")[0]; d.Notice != "warming up" {
		t.Errorf("STATUS= not shown: %+v", d.Notice)
	}

	r = e.Run("start", app, "--name", "never", "--wait-ready", "--listen-timeout", "1s")
	if r.Code != 1 || !strings.Contains(r.Stderr, "not ready after 1s") || !strings.Contains(r.Stderr, "READY=1") {
		t.Fatalf("never ready: %+v", r)
	}
	if p := find(list(t, e), "never"); p == nil || p.Status != "errored" || p.PID != 0 {
		t.Fatalf("a start that failed leaves the process errored and stopped: %+v", p)
	}

	e.MustRun("start", app, "--name", "hang", "--watchdog", "500ms", "--", "-beat-for", "1s")
	waitFor(t, "a watchdog restart", 10*time.Second, func() bool {
		h := history(t, e, "hang")
		return len(h) > 0 && strings.HasPrefix(h[0], "watchdog")
	})
}

// TestReadinessNodeSend: process.send('ready') over the IPC channel Velos
// opens for Node, as PM2 has it.
func TestReadinessNodeSend(t *testing.T) {
	t.Parallel()
	needNode(t)
	e := testenv.New(t)
	dir := project(t, map[string]string{"app.js": `setTimeout(() => process.send("ready"), 2000); setInterval(() => {}, 1000);`})
	e.MustRun("list")
	begin := time.Now()
	done := startAsync(e, filepath.Join(dir, "app.js"), "--name", "ipc", "--wait-ready")
	waitStatus(t, e, "ipc", "launching", 5*time.Second)
	if r := <-done; r.Code != 0 || time.Since(begin) < 2*time.Second {
		t.Fatalf("start returned after %s: %+v", time.Since(begin), r)
	}
	if p := find(list(t, e), "ipc"); p.Status != "online" {
		t.Fatalf("after process.send('ready'): %+v", p)
	}
}

// TestReadinessProbes: online once the port accepts (ready_tcp) or the URL
// answers 2xx (ready_http); a probe that never passes fails the start.
func TestReadinessProbes(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	app := testenv.TestApp(t)
	e.MustRun("list")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"tcp", []string{"--ready-tcp", "127.0.0.1:$PORT", "--", "-serve", "port", "-listen-after", "2s"}},
		{"http", []string{"--ready-http", "http://127.0.0.1:${PORT}/health", "--", "-serve", "port", "-health-after", "2s"}},
	} {
		port := freePort(t)
		begin := time.Now()
		done := startAsync(e, append([]string{app, "--name", c.name, "--env", "PORT=" + port}, c.args...)...)
		waitStatus(t, e, c.name, "launching", 5*time.Second)
		if r := <-done; r.Code != 0 || time.Since(begin) < 2*time.Second {
			t.Fatalf("%s: start returned after %s: %+v", c.name, time.Since(begin), r)
		}
		if pid, err := answeredBy("http://127.0.0.1:" + port + "/"); err != nil || pid == "" {
			t.Fatalf("%s: online but not answering: %v", c.name, err)
		}
	}
	port := freePort(t)
	r := e.Run("start", app, "--name", "sick", "--env", "PORT="+port, "--ready-http", "http://127.0.0.1:$PORT/health",
		"--listen-timeout", "1s", "--", "-serve", "port", "-health-after", "1h")
	if r.Code != 1 || !strings.Contains(r.Stderr, "2xx") {
		t.Fatalf("a probe that never passes: %+v", r)
	}
}

// TestClusterSharedSocket: four instances of a Go server that takes its
// socket as systemd passes it (LISTEN_FDS) all answer on one port.
func TestClusterSharedSocket(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	port := freePort(t)
	e.MustRun("start", testenv.TestApp(t), "--name", "go", "-i", "4", "--listen", port, "--balance", "socket",
		"--wait-ready", "--", "-serve", "fds", "-ready-after", "0s")
	ps := list(t, e)
	if n := len(pids(ps, "go")); n != 4 {
		t.Fatalf("want 4 instances: %+v", ps)
	}
	// Which instance the kernel wakes is its choice: concurrent requests
	// until every instance has answered (a bounded number of rounds).
	seen := map[string]int{}
	for round := 0; len(seen) < 4 && round < 20; round++ {
		for pid, n := range answering(t, "http://127.0.0.1:"+port+"/?sleep=20ms", 80, 8) {
			seen[pid] += n
		}
	}
	if len(seen) != 4 {
		t.Fatalf("requests reached %d instances, want 4: %v", len(seen), seen)
	}
	d := describeAll(t, e, "go")[0]
	if d.Listen != ":"+port || d.Balance != "socket" {
		t.Errorf("describe: listen %q balance %q", d.Listen, d.Balance)
	}
}

// scrapeSum serves /metrics (or finds it served) and sums a family's series.
func scrapeSum(t *testing.T, e *testenv.Env, family string) float64 {
	t.Helper()
	var out tools.MetricsServeOut
	if err := json.Unmarshal([]byte(e.MustRun("metrics", "serve", "--port", "0", "--json")), &out); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(out.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", out.URL, err)
	}
	var sum float64
	for _, m := range fams[family].GetMetric() {
		sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return sum
}

// TestClusterBalancer: four instances of a server that can only bind a
// PORT of its own answer on one port through Velos's balancer, every one of
// them (round-robin), and the balancer's figures show per instance.
func TestClusterBalancer(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	port := freePort(t)
	e.MustRun("start", testenv.TestApp(t), "--name", "rr", "-i", "4", "--listen", "127.0.0.1:"+port,
		"--balance", "round-robin", "--", "-serve", "port")
	seen := answering(t, "http://127.0.0.1:"+port+"/", 40, 1)
	if len(seen) != 4 {
		t.Fatalf("requests reached %d instances, want 4: %v", len(seen), seen)
	}
	for pid, n := range seen {
		if n != 10 {
			t.Errorf("round-robin: %s answered %d of 40", pid, n)
		}
	}
	var total int64
	ports := map[int]bool{}
	for _, d := range describeAll(t, e, "rr") {
		if d.Balancer == nil || !d.Balancer.InRotation || d.Port == 0 || d.Balance != "round-robin" {
			t.Fatalf("describe lacks the balancer's view: %+v %+v", d.Balancer, d)
		}
		total += d.Balancer.Requests
		ports[d.Port] = true
	}
	if total != 40 || len(ports) != 4 {
		t.Errorf("the balancer counted %d requests over %d instance ports, want 40 over 4", total, len(ports))
	}
	// The same figures on /metrics, per instance.
	if got := scrapeSum(t, e, "velos_balancer_requests_total"); got != 40 {
		t.Errorf("velos_balancer_requests_total sums to %v, want 40", got)
	}
	if got := scrapeSum(t, e, "velos_balancer_in_rotation"); got != 4 {
		t.Errorf("velos_balancer_in_rotation sums to %v, want 4", got)
	}
	// The same under a request loop while it reloads: no failure.
	stop := make(chan struct{})
	results := runLoads("http://127.0.0.1:"+port+"/", stop)
	e.MustRun("reload", "rr")
	close(stop)
	if l := <-results; len(l.errs) > 0 || l.ok == 0 {
		t.Fatalf("%d requests answered, %d failed during a reload: %v", l.ok, len(l.errs), l.errs)
	}
}

// TestClusterNodeUnmodified: a plain Node server and an unmodified express
// app run with -i 2 on their PORT (the preload hands them Velos's socket),
// and both instances answer.
func TestClusterNodeUnmodified(t *testing.T) {
	t.Parallel()
	needNode(t)
	mods := testenv.NPM(t, "express", "express@4.21.2")
	e := testenv.New(t)
	dir := project(t, map[string]string{
		"plain.js": nodeServer,
		"express.js": `const express = require("express");
const app = express();
app.get("/", (req, res) => setTimeout(() => res.send("pid " + process.pid + "\n"), 20));
app.listen(process.env.PORT);
`,
	})
	if err := os.Symlink(mods, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"plain", "express"} {
		port := freePort(t)
		e.MustRun("start", filepath.Join(dir, app+".js"), "-i", "2", "--env", "PORT="+port)
		seen := answering(t, "http://127.0.0.1:"+port+"/", 100, 8)
		if len(seen) != 2 {
			t.Fatalf("%s: requests reached %d instances, want 2: %v", app, len(seen), seen)
		}
	}
}

// TestZeroDowntimeReload: request loops — one connection per request, and
// keep-alive connections — run while velos reload replaces every instance
// three times: no request fails, every pid is replaced. For
// a 2-instance Node cluster, for -i 1, for a plain Node server started
// without -i (its socket is learnt from its first run), and for a Go server
// on the shared socket.
func TestZeroDowntimeReload(t *testing.T) {
	t.Parallel()
	needNode(t)
	dir := project(t, map[string]string{"server.js": nodeServer})
	for _, c := range []struct {
		name string
		args func(port string) []string
	}{
		{"node-i2", func(port string) []string {
			return []string{filepath.Join(dir, "server.js"), "-i", "2", "--env", "PORT=" + port}
		}},
		{"node-i1", func(port string) []string {
			return []string{filepath.Join(dir, "server.js"), "-i", "1", "--mode", "cluster", "--env", "PORT=" + port}
		}},
		{"node-fork", func(port string) []string {
			return []string{filepath.Join(dir, "server.js"), "--env", "PORT=" + port}
		}},
		{"go-socket", func(port string) []string {
			return []string{testenv.TestApp(t), "-i", "2", "--listen", port, "--balance", "socket", "--wait-ready",
				"--", "-serve", "fds", "-ready-after", "100ms"}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := testenv.New(t)
			port := freePort(t)
			url := "http://127.0.0.1:" + port + "/"
			args := c.args(port)
			e.MustRun(append([]string{"start", args[0], "--name", "web"}, args[1:]...)...)
			// A fork-mode server is online at once; wait for it to serve.
			waitFor(t, "the server to answer", 10*time.Second, func() bool { _, err := answeredBy(url); return err == nil })
			before := map[int]bool{}
			for _, pid := range pids(list(t, e), "web") {
				before[pid] = true
			}
			stop := make(chan struct{})
			results := runLoads(url, stop)
			for range 3 {
				e.MustRun("reload", "web")
			}
			close(stop)
			l := <-results
			if len(l.errs) > 0 || l.ok == 0 {
				t.Fatalf("%d requests answered, %d failed during 3 reloads: %v", l.ok, len(l.errs), l.errs)
			}
			for _, pid := range pids(list(t, e), "web") {
				if before[pid] {
					t.Errorf("pid %d was not replaced", pid)
				}
			}
			t.Logf("%d requests, 0 failed, %d pids answered", l.ok, len(l.pids))
		})
	}
}

// TestReloadAbortsWhenNotReady: a new instance that never gets ready aborts
// the reload; the old one goes on serving.
func TestReloadAbortsWhenNotReady(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	port := freePort(t)
	app := testenv.TestApp(t)
	e.MustRun("start", app, "--name", "web", "--listen", port, "--balance", "socket", "--wait-ready",
		"--listen-timeout", "1s", "--", "-serve", "fds", "-ready-after", "0s")
	before := pids(list(t, e), "web")[0]
	// The next runs never say READY=1.
	e.MustRun("config", "set", "web", "args", "--", "-serve,fds")
	r := e.Run("reload", "web")
	if r.Code == 0 || !strings.Contains(r.Stderr, "still serves") {
		t.Fatalf("reload with a new instance never ready: %+v", r)
	}
	if after := find(list(t, e), "web"); after.PID != before || after.Status != "online" {
		t.Fatalf("the old instance must go on: %+v (pid before %d)", after, before)
	}
	if pid, err := answeredBy("http://127.0.0.1:" + port + "/"); err != nil || pid != fmt.Sprintf("pid %d", before) {
		t.Fatalf("the old instance must answer: %q %v", pid, err)
	}
}

// TestWatch: a burst of writes restarts once, with the changed path as the
// cause; writes under ignored folders restart nothing; a folder made after
// the start is watched too.
func TestWatch(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := project(t, map[string]string{"a.txt": "0"})
	e.MustRunIn(dir, "start", "sleep", "--name", "w", "--watch", "--watch-ignore", "tmp", "--watch-debounce", "400ms", "--", "300")
	restarts := func() int { return find(list(t, e), "w").Restarts }
	// 100 writes as fast as they go (a few ms; under load up to the quiet
	// time): one restart.
	for i := range 100 {
		os.WriteFile(filepath.Join(dir, "a.txt"), []byte(fmt.Sprint(i)), 0o644)
	}
	waitFor(t, "a restart", 10*time.Second, func() bool { return restarts() >= 1 })
	time.Sleep(time.Second) // enough for a second burst to have restarted it too
	if n := restarts(); n != 1 {
		t.Fatalf("100 writes in a burst made %d restarts, want 1", n)
	}
	if h := history(t, e, "w"); h[0] != "watch a.txt" {
		t.Fatalf("cause %q, want watch a.txt", h[0])
	}
	// Ignored: the tmp folder, node_modules and .git by default.
	for _, sub := range []string{"tmp", "node_modules", ".git"} {
		os.MkdirAll(filepath.Join(dir, sub, "x"), 0o755)
		os.WriteFile(filepath.Join(dir, sub, "x", "f"), []byte("1"), 0o644)
	}
	time.Sleep(time.Second) // the quiet time, five times over: nothing may come
	if n := restarts(); n != 1 {
		t.Fatalf("writes under ignored folders restarted it (%d restarts)", n)
	}
	// A new folder, nested, is watched.
	os.MkdirAll(filepath.Join(dir, "src", "deep"), 0o755)
	waitFor(t, "a restart for the new folder", 10*time.Second, func() bool { return restarts() >= 2 })
	os.WriteFile(filepath.Join(dir, "src", "deep", "x.go"), []byte("package x"), 0o644)
	waitFor(t, "a restart for a file in the new folder", 10*time.Second, func() bool {
		h := history(t, e, "w")
		return len(h) >= 3 && h[len(h)-1] == "watch src/deep/x.go"
	})

	// A program that writes into its own watched folder at each start is
	// not restarted forever: after a few restarts its file is ignored.
	self := project(t, map[string]string{})
	e.MustRunIn(self, "start", "echo $$ > out.txt; exec sleep 300", "--name", "selfish", "--watch")
	// Its first write may come before the watch is set up: a change of ours
	// starts the loop.
	waitFor(t, "a first restart", 20*time.Second, func() bool {
		os.WriteFile(filepath.Join(self, "kick"), []byte("1"), 0o644)
		return find(list(t, e), "selfish").Restarts > 0
	})
	waitFor(t, "the loop to be noticed", 20*time.Second, func() bool {
		log, _ := os.ReadFile(filepath.Join(e.Home, "daemon.log"))
		return strings.Contains(string(log), "restart loop")
	})
	n := find(list(t, e), "selfish").Restarts
	time.Sleep(2 * time.Second) // long enough for another round of the loop
	if m := find(list(t, e), "selfish").Restarts; m != n || n > 3 {
		t.Fatalf("the loop goes on: %d restarts, then %d", n, m)
	}
}

// TestScale: velos scale adds instances beside the running ones (their pids
// unchanged) that the balancer sends requests to, removes the last ones
// gracefully, takes PM2's +N/-N, records the count (config get, save), and
// refuses counts it cannot run, changing nothing.
func TestScale(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	port := freePort(t)
	e.MustRun("start", testenv.TestApp(t), "--name", "rr", "-i", "2", "--listen", "127.0.0.1:"+port,
		"--balance", "round-robin", "--", "-serve", "port")
	before := pids(list(t, e), "rr")
	e.MustRun("scale", "rr", "+2")
	after := pids(list(t, e), "rr")
	if len(after) != 4 || after[0] != before[0] || after[1] != before[1] {
		t.Fatalf("scale +2: pids %v, want the two of %v and two more", after, before)
	}
	for _, p := range list(t, e) {
		if p.Status != "online" {
			t.Fatalf("after scale +2, %s (id %d) is %s", p.Name, p.ID, p.Status)
		}
	}
	if seen := answering(t, "http://127.0.0.1:"+port+"/", 40, 1); len(seen) != 4 {
		t.Fatalf("requests reached %d instances after scale +2, want 4: %v", len(seen), seen)
	}
	if got := e.MustRun("config", "get", "rr", "instances", "--json"); !strings.Contains(got, `"value": "4"`) {
		t.Fatalf("config get instances after scale: %s, want 4", got)
	}
	// Down to one while requests run: none fails, the first instance stays.
	stop := make(chan struct{})
	results := runLoads("http://127.0.0.1:"+port+"/", stop)
	e.MustRun("scale", "rr", "1")
	close(stop)
	if l := <-results; len(l.errs) > 0 || l.ok == 0 {
		t.Fatalf("%d requests answered, %d failed while scaling down: %v", l.ok, len(l.errs), l.errs)
	}
	if got := pids(list(t, e), "rr"); len(got) != 1 || got[0] != before[0] {
		t.Fatalf("scale 1: pids %v, want [%d]", got, before[0])
	}
	for _, bad := range []struct{ args, want string }{
		{"rr 0", "at least 1"},
		{"rr -- -1", "at least 1"},
		{"rr many", `count "many"`},
		{"nope 2", "nope"},
	} {
		r := e.Run(append([]string{"scale"}, strings.Fields(bad.args)...)...)
		if r.Code == 0 || !strings.Contains(r.Stderr, bad.want) {
			t.Errorf("scale %s: code %d, stderr %q; want an error with %q", bad.args, r.Code, r.Stderr, bad.want)
		}
	}
	if got := pids(list(t, e), "rr"); len(got) != 1 || got[0] != before[0] {
		t.Fatalf("a refused scale changed the processes: %v", got)
	}
}
