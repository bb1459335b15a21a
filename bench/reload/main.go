// Command reload measures what a reload costs the clients of an HTTP app:
// wrk keeps the load on while the process manager reloads the app N times,
// then the table says how many requests failed (non-2xx, and socket errors
// by kind), the requests/s and the p99 latency. Velos and PM2 run side by
// side in one run, on the same machine, so a busy machine moves both.
//
// Cases: a plain Node HTTP server with -i 2 (Velos's shared socket vs PM2's
// cluster mode), the same server as one instance (Velos's learnt socket vs
// PM2's fork-mode reload, which is a restart), and the Go test server
// (internal/testapp), 2 instances, on the shared socket (LISTEN_FDS) and
// behind Velos's balancer (round-robin): PM2 has nothing like either. Each
// with wrk's keep-alive connections and with a new connection per request.
//
// Each manager runs against a temporary home (VELOS_HOME, PM2_HOME) and is
// killed at the end. PM2 comes from the npm registry into the user's cache
// folder (as for the tests); wrk is the Debian package, installed with
// apt-get when missing and allowed. It prints a table and asserts nothing.
//
// Reloads are paced (one every 3 s, or at once after one that took longer),
// so that both managers are measured over the same window when their
// reloads fit in it: requests/s and p99 then say what the reloads cost.
//
// Run (from the repository root): go run ./bench/reload [-reloads 5]
// [-every 3s] [-c 32] [-only REGEXP] [-velos bin/velos]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/velos-pm/velos/bench/internal/wrk"
	"github.com/velos-pm/velos/internal/testenv"
)

func main() {
	var o options
	flag.IntVar(&o.reloads, "reloads", 5, "reloads per case")
	flag.IntVar(&o.conns, "c", 32, "wrk connections")
	flag.DurationVar(&o.warm, "warm", time.Second, "load before the first reload")
	flag.DurationVar(&o.every, "every", 3*time.Second, "a reload starts every this long (at once when the one before took longer), so that both managers get the same window")
	flag.DurationVar(&o.settle, "settle", time.Second, "load after the last reload's slot (an old instance may still be going)")
	only := flag.String("only", "", `run only the cases whose "case/load/manager" matches this regexp, e.g. "balancer" or "close/velos"`)
	flag.StringVar(&o.velos, "velos", "bin/velos", "the velos binary, with velosd beside it (both built from ./cmd when missing)")
	flag.Parse()
	re, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reload bench: -only:", err)
		os.Exit(2)
	}
	o.only = re
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "reload bench:", err)
		os.Exit(1)
	}
}

type options struct {
	reloads        int
	conns          int
	warm, settle   time.Duration
	every          time.Duration
	velos          string
	only           *regexp.Regexp
	wrk            string
	server, goTest string // the Node server and the Go test server
}

// appCase is one way to run the app, under Velos and (when it has one) its
// PM2 counterpart.
type appCase struct {
	name      string
	velos     func(o options, port int) []string // `velos start` arguments
	velosMode string
	pm2       func(o options) []string // `pm2 start` arguments, PORT in the env; nil: no PM2 equivalent
	pm2Mode   string
	noPM2     string // why there is no PM2 row
}

var cases = []appCase{
	{
		name: "Node, 2 instances",
		velos: func(o options, port int) []string {
			return []string{o.server, "--name", "web", "-i", "2", "--env", "PORT=" + strconv.Itoa(port)}
		},
		velosMode: "-i 2: one socket, shared through the preload",
		pm2:       func(o options) []string { return []string{o.server, "--name", "web", "-i", "2"} },
		pm2Mode:   "-i 2: cluster mode",
	},
	{
		name: "Node, 1 instance",
		velos: func(o options, port int) []string {
			return []string{o.server, "--name", "web", "--env", "PORT=" + strconv.Itoa(port)}
		},
		velosMode: "no -i: socket learnt from the first run",
		pm2:       func(o options) []string { return []string{o.server, "--name", "web"} },
		pm2Mode:   "fork mode: reload is a restart",
	},
	{
		name: "Go server, socket",
		velos: func(o options, port int) []string {
			return []string{o.goTest, "--name", "web", "-i", "2", "--listen", strconv.Itoa(port), "--balance", "socket", "--wait-ready", "--", "-serve", "fds", "-ready-after", "0s"}
		},
		velosMode: "-i 2 --balance socket: LISTEN_FDS, READY=1",
		noPM2:     "no PM2 equivalent: PM2 clusters Node only",
	},
	{
		name: "Go server, balancer",
		velos: func(o options, port int) []string {
			return []string{o.goTest, "--name", "web", "-i", "2", "--listen", strconv.Itoa(port), "--balance", "round-robin", "--", "-serve", "port"}
		},
		velosMode: "-i 2 --balance round-robin: each its own PORT",
		noPM2:     "no PM2 equivalent: PM2 balances Node cluster workers only",
	},
}

var loads = []struct {
	name  string
	close bool
}{{"keep-alive", false}, {"close", true}}

// nodeServer is the plain Node HTTP server every Node case runs.
const nodeServer = `require("http").createServer((q, s) => s.end("hello\n")).listen(Number(process.env.PORT));
`

func run(ctx context.Context, o options) error {
	var err error
	if o.wrk, err = wrk.Find(ctx); err != nil {
		fmt.Println("reload bench skipped:", err)
		return nil
	}
	if _, err := exec.LookPath("node"); err != nil {
		fmt.Println("reload bench skipped: node is not installed; every PM2 case and two Velos cases need it")
		return nil
	}
	work, err := os.MkdirTemp("", "velos-reload-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	o.server = filepath.Join(work, "server.js")
	if err := os.WriteFile(o.server, []byte(nodeServer), 0o644); err != nil {
		return err
	}
	o.goTest = filepath.Join(work, "testapp")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", o.goTest, "./internal/testapp").CombinedOutput(); err != nil {
		return fmt.Errorf("build internal/testapp (run from the repository root): %w\n%s", err, out)
	}
	if _, err := os.Stat(o.velos); err != nil {
		// velos starts the velosd beside it; work/velos is its home.
		bin := filepath.Join(work, "bin")
		o.velos = filepath.Join(bin, "velos")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin+string(filepath.Separator), "./cmd/velos", "./cmd/velosd").CombinedOutput(); err != nil {
			return fmt.Errorf("build cmd/velos, cmd/velosd: %w\n%s", err, out)
		}
	}
	if o.velos, err = filepath.Abs(o.velos); err != nil {
		return err
	}

	velos := &manager{kind: "velos", name: "Velos", bin: o.velos, home: "VELOS_HOME=" + filepath.Join(work, "velos")}
	managers := []*manager{velos}
	pm2Note := ""
	if bin, err := testenv.InstallPM2(); err != nil {
		pm2Note = "PM2 could not be installed: " + err.Error()
	} else {
		pm2 := &manager{kind: "pm2", bin: bin, home: "PM2_HOME=" + filepath.Join(work, "pm2")}
		v, _ := pm2.cmd(ctx, nil, "-v")
		pm2.name = "PM2 " + lastLine(v)
		managers = append(managers, pm2)
	}
	defer func() {
		for _, m := range managers {
			m.kill()
		}
		// A daemon may still be exiting when its kill command returns.
		left := leftovers(work)
		for deadline := time.Now().Add(5 * time.Second); len(left) > 0 && time.Now().Before(deadline); left = leftovers(work) {
			time.Sleep(50 * time.Millisecond)
		}
		for _, pid := range left {
			fmt.Printf("left behind 5 s after the managers were killed: pid %d (%s); killed now\n", pid, cmdline(pid))
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
			}
		}
	}()

	nodeV, _ := exec.CommandContext(ctx, "node", "--version").Output()
	wrkV, _ := exec.CommandContext(ctx, o.wrk, "-v").CombinedOutput()
	fmt.Printf("reload bench: %d cores, load average %s; node %s, %s, %s\n", runtime.NumCPU(), loadavg(),
		strings.TrimSpace(string(nodeV)), wrkVersion(string(wrkV)),
		strings.Join(names(managers), ", "))
	fmt.Printf("each run: wrk -t1 -c%d; after %s a reload every %s (at once if the last took longer), %d in all; %s more after the last slot; then the app is deleted\n",
		o.conns, o.warm, o.every, o.reloads, o.settle)
	if pm2Note != "" {
		fmt.Println(pm2Note)
	}

	var rows []row
	for _, c := range cases {
		for _, l := range loads {
			var pair []int // indices in rows
			for _, m := range managers {
				if m.kind == "pm2" && c.pm2 == nil || !o.only.MatchString(c.name+"/"+l.name+"/"+m.kind) {
					continue
				}
				fmt.Fprintf(os.Stderr, "%s, %s, %s…\n", c.name, l.name, m.name)
				r, err := measure(ctx, o, m, c, l.close)
				if ctx.Err() != nil {
					return errors.New("interrupted")
				}
				if err != nil {
					return fmt.Errorf("%s, %s, %s: %w", c.name, l.name, m.name, err)
				}
				r.load = l.name
				pair = append(pair, len(rows))
				rows = append(rows, r)
			}
			if len(pair) == 0 {
				continue
			}
			first := &rows[pair[0]]
			switch {
			case c.pm2 == nil:
				first.verdict = c.noPM2
			case len(pair) == 2:
				first.verdict = verdict(first.res, rows[pair[1]].res)
			case pm2Note != "":
				first.verdict = "PM2 not installed"
			default:
				first.verdict = "PM2 not run (-only)"
			}
		}
	}
	printTable(rows)
	fmt.Printf("\nload average after: %s\n", loadavg())
	return nil
}

// row is one run: a case, a load, a manager.
type row struct {
	app, load, manager, mode string
	reloads, replaced        int
	reloadTime               time.Duration // median
	res                      wrk.Result
	verdict                  string
}

// measure starts the app, puts wrk on it, reloads it o.reloads times and
// deletes it.
func measure(ctx context.Context, o options, m *manager, c appCase, closeEach bool) (row, error) {
	r := row{app: c.name, manager: m.name, reloads: o.reloads}
	port, err := freePort()
	if err != nil {
		return r, err
	}
	if m.kind == "velos" {
		r.mode = c.velosMode
		_, err = m.cmd(ctx, nil, append([]string{"start"}, c.velos(o, port)...)...)
	} else {
		r.mode = c.pm2Mode
		_, err = m.cmd(ctx, []string{"PORT=" + strconv.Itoa(port)}, append([]string{"start"}, c.pm2(o)...)...)
	}
	if err != nil {
		return r, err
	}
	defer m.cmd(context.WithoutCancel(ctx), nil, "delete", "web")
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	// Neither a fork-mode Node server nor PM2 says when the app listens:
	// its answer does (wrk gives up at once on a refused first connection).
	if err := waitServing(ctx, url, 30*time.Second); err != nil {
		return r, err
	}
	load, err := wrk.Start(o.wrk, wrk.Options{URL: url, Connections: o.conns, Duration: 10 * time.Minute, Close: closeEach})
	if err != nil {
		return r, err
	}
	stopped := false
	defer func() {
		if !stopped {
			load.Kill()
		}
	}()
	if err := pause(ctx, o.warm); err != nil {
		return r, err
	}
	var took []time.Duration
	first := time.Now()
	for i := range o.reloads {
		if err := pause(ctx, time.Until(first.Add(time.Duration(i)*o.every))); err != nil {
			return r, err
		}
		before, err := m.pids(ctx)
		if err != nil {
			return r, err
		}
		t0 := time.Now()
		if _, err := m.cmd(ctx, nil, "reload", "web"); err != nil {
			return r, err
		}
		took = append(took, time.Since(t0))
		after, err := m.pids(ctx)
		if err != nil {
			return r, err
		}
		if len(after) == len(before) && !slices.ContainsFunc(after, func(p int) bool { return slices.Contains(before, p) }) {
			r.replaced++
		}
	}
	if err := pause(ctx, time.Until(first.Add(time.Duration(o.reloads)*o.every))+o.settle); err != nil {
		return r, err
	}
	stopped = true
	if r.res, err = load.Stop(); err != nil {
		return r, err
	}
	slices.Sort(took)
	r.reloadTime = took[len(took)/2]
	return r, nil
}

// verdict compares a Velos run with the PM2 run of the same case and load.
func verdict(v, p wrk.Result) string {
	var w string
	switch vf, pf := v.Failed(), p.Failed(); {
	case vf == 0 && pf == 0:
		w = "both 0 failed"
	case vf < pf:
		w = fmt.Sprintf("Velos fewer failed (%d vs %d)", vf, pf)
	case vf > pf:
		w = fmt.Sprintf("**Velos more failed** (%d vs %d)", vf, pf)
	default:
		w = fmt.Sprintf("same failed (%d)", vf)
	}
	return fmt.Sprintf("%s; req/s ×%.2f, p99 ×%.2f", w, v.RPS/p.RPS, float64(v.P99)/float64(p.P99))
}

func printTable(rows []row) {
	fmt.Println()
	fmt.Println("| case | load | manager (mode) | reloads: all pids replaced | reload (median) | requests | failed | non-2xx | socket errors connect/read/write/timeout | req/s | p99 | Velos vs PM2 |")
	fmt.Println("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, r := range rows {
		failed := fmt.Sprint(r.res.Failed())
		if r.res.Failed() > 0 {
			failed = fmt.Sprintf("%d (%.2f%%)", r.res.Failed(), 100*float64(r.res.Failed())/float64(r.res.Requests+r.res.SocketErrors()))
		}
		fmt.Printf("| %s | %s | %s (%s) | %d/%d | %s | %d | %s | %d | %d/%d/%d/%d | %.0f | %s | %s |\n",
			r.app, r.load, r.manager, r.mode, r.replaced, r.reloads, seconds(r.reloadTime), r.res.Requests, failed,
			r.res.Non2xx, r.res.Connect, r.res.Read, r.res.Write, r.res.Timeout, r.res.RPS, millis(r.res.P99), r.verdict)
	}
	fmt.Println(`
failed: non-2xx answers + socket errors, in % of what wrk counted. read: a request sent on a
connection the server closed or reset without answering it (wrk does not retry it; a browser
retries an idempotent request on a reused connection, a POST fails). connect/write: a connection
refused, nothing listening; wrk retries at once, so during a restart these count attempts
(downtime × retry rate), not clients. Ratios are Velos / PM2: req/s above 1 and p99 below 1
favour Velos.`)
}

// manager runs one process manager's CLI against its own home.
type manager struct {
	kind string // "velos" or "pm2"
	name string // for the table, with PM2's version
	bin  string
	home string // VELOS_HOME=… or PM2_HOME=…
}

func (m *manager) cmd(ctx context.Context, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, m.bin, args...)
	cmd.Env = append(append(os.Environ(), m.home), env...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w\n%s%s", m.kind, strings.Join(args, " "), err, out.String(), stderr.String())
	}
	return out.String(), nil
}

// pids of the app's instances, as the manager lists them.
func (m *manager) pids(ctx context.Context) ([]int, error) {
	type proc struct {
		Name string `json:"name"`
		PID  int    `json:"pid"`
	}
	var procs []proc
	if m.kind == "velos" {
		out, err := m.cmd(ctx, nil, "list", "--json")
		if err != nil {
			return nil, err
		}
		var l struct {
			Processes []proc `json:"processes"`
		}
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			return nil, fmt.Errorf("velos list --json: %w", err)
		}
		procs = l.Processes
	} else {
		out, err := m.cmd(ctx, nil, "jlist")
		if err != nil {
			return nil, err
		}
		// PM2 may print a notice before the JSON.
		if i := strings.IndexByte(out, '['); i > 0 {
			out = out[i:]
		}
		if err := json.Unmarshal([]byte(out), &procs); err != nil {
			return nil, fmt.Errorf("pm2 jlist: %w", err)
		}
	}
	var pids []int
	for _, p := range procs {
		if p.Name == "web" && p.PID > 0 {
			pids = append(pids, p.PID)
		}
	}
	return pids, nil
}

// kill stops the manager's daemon and everything it runs.
func (m *manager) kill() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := m.cmd(ctx, nil, "kill"); err != nil {
		fmt.Fprintf(os.Stderr, "%s kill: %v\n", m.kind, err)
	}
}

func names(ms []*manager) []string {
	var s []string
	for _, m := range ms {
		s = append(s, m.name)
	}
	return s
}

// leftovers are the processes still running whose command line or
// environment names the bench's temp folder (the apps, the daemons). It
// reads /proc: elsewhere it finds none.
func leftovers(work string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		for _, f := range []string{"cmdline", "environ"} {
			b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), f))
			if bytes.Contains(b, []byte(work)) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

func waitServing(ctx context.Context, url string, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not answer after %s: %w", url, limit, err)
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// wrkVersion is "wrk 4.1.0" from wrk -v's "wrk debian/4.1.0-3+b2 [epoll] …".
func wrkVersion(v string) string {
	f := strings.Fields(v)
	if len(f) < 2 {
		return "wrk"
	}
	return "wrk " + strings.TrimPrefix(f[1], "debian/")
}

func lastLine(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(l[len(l)-1])
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
func millis(d time.Duration) string  { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
