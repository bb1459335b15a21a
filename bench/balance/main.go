// Command balance benchmarks Velos's TCP balancer (core/balance) and prints
// tables; it asserts nothing.
//
//   - HTTP requests/s and latency percentiles straight to one instance and
//     through the balancer to 1, 2 and 4 instances, side by side in one run,
//     for a trivial handler (CPU-bound: the worst case for a proxy), a
//     handler that waits 1 ms (an app doing I/O), a new connection per
//     request, and 1 MiB responses;
//   - failed requests while instances are replaced one by one under load
//     (start, Add, Drain, Remove, exit), as a rolling reload does;
//   - raw stream throughput straight, through the balancer (which splices
//     streams that are not HTTP) and through a user-space copy relay, to
//     show what splice buys.
//
// Instances are child processes (this program with "instance"); the
// balancer runs in this process, as it runs in the daemon. The load comes
// from wrk when it is installed (Debian: apt-get install wrk), else from a
// Go loop in this process (then the balancer's CPU is not shown).
//
// Run: go run ./bench/balance [-d 3s] [-c 32] [-only http|reload|stream]
// [-match REGEXP] [-procs N] [-cpuprofile FILE]
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/velos-pm/velos/bench/internal/wrk"
	"github.com/velos-pm/velos/core/balance"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == "pull" {
		n, _ := strconv.ParseInt(os.Args[3], 10, 64)
		mibps, err := pull(os.Args[2], n)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pull:", err)
			os.Exit(1)
		}
		fmt.Println(mibps)
		return
	}
	if len(os.Args) >= 3 && os.Args[1] == "instance" {
		if err := instance(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "instance:", err)
			os.Exit(1)
		}
		return
	}
	dur := flag.Duration("d", 3*time.Second, "duration of each HTTP run")
	conns := flag.Int("c", 32, "concurrent client connections")
	only := flag.String("only", "", `run only "http", "reload" or "stream"`)
	streamMiB := flag.Int("stream-mib", 2048, "MiB moved per stream run")
	match := flag.String("match", "", `run only the HTTP cases whose "profile/target" matches this regexp, e.g. "trivial.*keep/rr, 1"`)
	procs := flag.Int("procs", 0, "GOMAXPROCS of this process (the balancer's) only; 0 = the default")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (the balancer is the busy part) to this file")
	flag.Parse()
	if *procs > 0 {
		runtime.GOMAXPROCS(*procs)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	re, err := regexp.Compile(*match)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -match:", err)
		os.Exit(2)
	}
	if err := run(*dur, *conns, *only, *streamMiB, re); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// instance serves until its stdin closes (the bench ended), after printing
// its address. kind: "http" (/ answers "hello", /sleep waits 1 ms, /big
// sends 1 MiB) or "stream" (each connection gets the number of bytes it
// asks for as a decimal line, then is closed).
func instance(kind string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	go func() { io.Copy(io.Discard, os.Stdin); os.Exit(0) }()
	if kind == "stream" {
		buf := make([]byte, 256<<10)
		for {
			c, err := ln.Accept()
			if err != nil {
				return err
			}
			go func() {
				defer c.Close()
				c.Write([]byte{0}) // speak first: a stream that is not HTTP
				line, err := bufio.NewReader(c).ReadString('\n')
				n, _ := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
				for err == nil && n > 0 {
					k := min(n, int64(len(buf)))
					_, err = c.Write(buf[:k])
					n -= k
				}
			}()
		}
	}
	big := make([]byte, 1<<20)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello\n") })
	mux.HandleFunc("/sleep", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond)
		io.WriteString(w, "hello\n")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(big)))
		w.Write(big)
	})
	return http.Serve(ln, mux)
}

// child is a running instance.
type child struct {
	cmd   *exec.Cmd
	stdin io.Closer
	addr  string
}

func startInstance(kind string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "instance", kind)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start instance: %w", err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		in.Close()
		cmd.Wait()
		return nil, fmt.Errorf("instance address: %w", err)
	}
	return &child{cmd: cmd, stdin: in, addr: strings.TrimSpace(line)}, nil
}

func (c *child) stop() {
	c.stdin.Close()
	c.cmd.Wait()
}

func run(dur time.Duration, conns int, only string, streamMiB int, match *regexp.Regexp) error {
	wrkPath, _ := exec.LookPath("wrk")
	fmt.Printf("balancer bench: %d cores, balancer GOMAXPROCS %d, %s per run, load from ", runtime.NumCPU(), runtime.GOMAXPROCS(0), dur)
	if wrkPath != "" {
		fmt.Println("wrk (1 thread)")
	} else {
		fmt.Println("a Go loop in this process (wrk not found: apt-get install wrk)")
	}
	if only == "" || only == "http" {
		if err := httpBench(wrkPath, dur, conns, match); err != nil {
			return err
		}
	}
	if only == "" || only == "reload" {
		if err := reloadBench(wrkPath, max(dur, 5*time.Second), conns); err != nil {
			return err
		}
	}
	if only == "" || only == "stream" {
		if err := streamBench(streamMiB); err != nil {
			return err
		}
	}
	return nil
}

// reloadBench keeps the load on while instances are replaced one by one, as
// a rolling reload does: start the new one, Add it, Drain the old one, Remove
// it and stop it abruptly (its process exits, closing whatever it still has).
func reloadBench(wrkPath string, dur time.Duration, conns int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	b := balance.New(ln, balance.RoundRobin, slog.New(slog.DiscardHandler))
	defer b.Close()
	live := map[int]*child{}
	defer func() {
		for _, c := range live {
			c.stop()
		}
	}()
	for id := range 2 {
		c, err := startInstance("http")
		if err != nil {
			return err
		}
		live[id] = c
		b.Add(id, c.addr)
	}
	type loadResult struct {
		res result
		err error
	}
	done := make(chan loadResult, 1)
	go func() {
		r, err := load(wrkPath, "http://"+ln.Addr().String()+"/", dur, conns, false)
		done <- loadResult{r, err}
	}()
	replaced, next := 0, 2
	var drains []time.Duration
	stop := time.After(dur - time.Second) // leave the last second undisturbed
loop:
	for {
		select {
		case <-stop:
			break loop
		case <-time.After(200 * time.Millisecond): // pace: a few replacements per second
		}
		old := next - 2
		c, err := startInstance("http")
		if err != nil {
			return err
		}
		live[next] = c
		b.Add(next, c.addr)
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = b.Drain(ctx, old)
		cancel()
		if err != nil {
			return fmt.Errorf("reload: %w", err)
		}
		drains = append(drains, time.Since(t0))
		b.Remove(old)
		live[old].stop()
		delete(live, old)
		replaced++
		next++
	}
	lr := <-done
	if lr.err != nil {
		return lr.err
	}
	slices.Sort(drains)
	fmt.Printf("\nrolling replacement under load (2 instances, trivial handler, keep-alive, %d connections, %s)\n", conns, dur)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "instances replaced\trequests/s\tfailed requests\tp99\tDrain median\tDrain max\t")
	med, worst := time.Duration(0), time.Duration(0)
	if len(drains) > 0 {
		med, worst = drains[len(drains)/2], drains[len(drains)-1]
	}
	fmt.Fprintf(tw, "%d\t%.0f\t%d\t%s\t%s\t%s\t\n", replaced, lr.res.rps, lr.res.errors, ms(lr.res.p99), ms(med), ms(worst))
	if err := tw.Flush(); err != nil {
		return err
	}
	if wrkPath == "" {
		fmt.Println("(Go's client retries a GET whose reused connection closed before an answer, which can hide a failure; wrk does not)")
	}
	return nil
}

// result of one load run.
type result struct {
	rps, mibps    float64
	p50, p90, p99 time.Duration
	errors        int64
	cpuPerReq     time.Duration // this process's CPU per request (the balancer's), wrk only
}

type target struct {
	name      string
	instances int
	strategy  balance.Strategy // "" = straight to the instance
	relay     bool             // a bare copy relay instead of the balancer
}

func httpBench(wrkPath string, dur time.Duration, conns int, match *regexp.Regexp) error {
	var children []*child
	defer func() {
		for _, c := range children {
			c.stop()
		}
	}()
	for range 4 {
		c, err := startInstance("http")
		if err != nil {
			return err
		}
		children = append(children, c)
	}
	targets := []target{
		{"direct, 1 instance", 1, "", false},
		{"balancer rr, 1 instance", 1, balance.RoundRobin, false},
		{"balancer rr, 2 instances", 2, balance.RoundRobin, false},
		{"balancer rr, 4 instances", 4, balance.RoundRobin, false},
		{"balancer least-conn, 4", 4, balance.LeastConn, false},
		{"bare copy relay, 1 (no HTTP observation)", 1, "", true},
	}
	profiles := []struct {
		name, path string
		close, mib bool
		conns      int // 0: the -c flag
	}{
		{"trivial handler, keep-alive", "/", false, false, 0},
		{"trivial handler, one connection (added latency, cores not saturated)", "/", false, false, 1},
		{"1 ms handler, keep-alive", "/sleep", false, false, 0},
		{"trivial handler, new connection per request", "/", true, false, 0},
		{"1 MiB responses, keep-alive", "/big", false, true, 0},
	}
	for _, prof := range profiles {
		conns := cmp.Or(prof.conns, conns)
		if !slices.ContainsFunc(targets, func(tg target) bool {
			return (tg.strategy != "" || tg.relay) && match.MatchString(prof.name+"/"+tg.name)
		}) {
			continue
		}
		fmt.Printf("\n%s, %d connections\n", prof.name, conns)
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		if prof.mib {
			fmt.Fprintln(tw, "target\tMiB/s\treq/s\tp50\tp99\tvs direct MiB/s\terrors\tbalancer CPU/req\t")
		} else {
			fmt.Fprintln(tw, "target\treq/s\tp50\tp90\tp99\tvs direct req/s\tvs direct p99\terrors\tbalancer CPU/req\t")
		}
		var direct result
		for _, tg := range targets {
			measured := tg.strategy != "" || tg.relay
			if measured && !match.MatchString(prof.name+"/"+tg.name) {
				continue
			}
			addr := children[0].addr
			var b *balance.Balancer
			var relay net.Listener
			switch {
			case tg.relay:
				var err error
				if relay, err = copyRelay(addr); err != nil {
					return err
				}
				addr = relay.Addr().String()
			case tg.strategy != "":
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					return err
				}
				b = balance.New(ln, tg.strategy, slog.New(slog.DiscardHandler))
				for i := range tg.instances {
					b.Add(i, children[i].addr)
				}
				addr = ln.Addr().String()
			}
			url := "http://" + addr + prof.path
			if _, err := load(wrkPath, url, time.Second, conns, prof.close); err != nil { // warm up: page faults, buffers, pools
				return err
			}
			res, err := load(wrkPath, url, dur, conns, prof.close)
			if b != nil {
				b.Close()
			}
			if relay != nil {
				relay.Close()
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", prof.name, tg.name, err)
			}
			if !measured {
				direct = res
			}
			cpu := "-"
			if res.cpuPerReq > 0 && measured {
				cpu = fmt.Sprintf("%.1f µs", float64(res.cpuPerReq)/1e3)
			}
			if prof.mib {
				fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%s\t%s\t%.0f%%\t%d\t%s\t\n", tg.name, res.mibps, res.rps, ms(res.p50), ms(res.p99),
					100*res.mibps/direct.mibps, res.errors, cpu)
				continue
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%.0f%%\t%.0f%%\t%d\t%s\t\n", tg.name, res.rps, ms(res.p50), ms(res.p90), ms(res.p99),
				100*res.rps/direct.rps, 100*float64(res.p99)/float64(direct.p99), res.errors, cpu)
		}
		tw.Flush()
	}
	fmt.Println("\n(vs direct p99: lower is better, 100% = same as direct; the goal is req/s ≥ 90% of direct)")
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

// load runs wrk, or the Go loop without it.
func load(wrkPath, url string, dur time.Duration, conns int, closeEach bool) (result, error) {
	if wrkPath == "" {
		return goLoad(url, dur, conns, closeEach)
	}
	cpu0 := cpuTime()
	res, err := wrk.Run(context.Background(), wrkPath, wrk.Options{URL: url, Connections: conns, Duration: dur, Close: closeEach})
	cpu := cpuTime() - cpu0
	if err != nil {
		return result{}, err
	}
	r := result{rps: res.RPS, mibps: res.MiBps, p50: res.P50, p90: res.P90, p99: res.P99, errors: res.Failed()}
	if res.Requests > 0 && cpu > 0 {
		r.cpuPerReq = cpu / time.Duration(res.Requests)
	}
	return r, nil
}

// goLoad is the fallback load: conns goroutines, each with its own
// connection (or a new one per request), for dur.
func goLoad(url string, dur time.Duration, conns int, closeEach bool) (result, error) {
	var mu sync.Mutex
	var lats []time.Duration
	var errs, bytes int64
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			tr := &http.Transport{DisableKeepAlives: closeEach, MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			var mine []time.Duration
			var myErrs, myBytes int64
			for time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := client.Get(url)
				if err == nil {
					var n int64
					n, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					myBytes += n
					if err == nil && resp.StatusCode != 200 {
						err = errors.New(resp.Status)
					}
				}
				if err != nil {
					myErrs++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, mine...)
			errs += myErrs
			bytes += myBytes
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(lats) == 0 {
		return result{}, fmt.Errorf("no request succeeded (%d errors)", errs)
	}
	slices.Sort(lats)
	q := func(f float64) time.Duration { return lats[min(len(lats)-1, int(f*float64(len(lats))))] }
	return result{rps: float64(len(lats)) / dur.Seconds(), mibps: float64(bytes) / (1 << 20) / dur.Seconds(),
		p50: q(0.50), p90: q(0.90), p99: q(0.99), errors: errs}, nil
}

// streamBench moves streamMiB through each path, best of 3 runs.
func streamBench(streamMiB int) error {
	src, err := startInstance("stream")
	if err != nil {
		return err
	}
	defer src.stop()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	b := balance.New(ln, balance.RoundRobin, slog.New(slog.DiscardHandler))
	defer b.Close()
	b.Add(0, src.addr)

	relay, err := copyRelay(src.addr)
	if err != nil {
		return err
	}
	defer relay.Close()

	fmt.Printf("\nstream that is not HTTP, %d MiB per run (best of 3)\n", streamMiB)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\tMiB/s\tvs direct\trelay CPU/GiB\t")
	var direct float64
	for _, p := range []struct{ name, addr string }{
		{"direct", src.addr},
		{"balancer (splice)", b.Addr().String()},
		{"user-space copy relay, 64 KiB buffer", relay.Addr().String()},
	} {
		best, bestCPU := 0.0, time.Duration(0)
		for range 3 {
			cpu0 := cpuTime()
			mibps, err := pullChild(p.addr, int64(streamMiB)<<20)
			cpu := cpuTime() - cpu0
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			if mibps > best {
				best, bestCPU = mibps, cpu
			}
		}
		if p.name == "direct" {
			direct = best
		}
		cpu := "-"
		if bestCPU > 0 && p.name != "direct" {
			cpu = fmt.Sprintf("%.0f ms", float64(bestCPU)/1e6*1024/float64(streamMiB))
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f%%\t%s\t\n", p.name, best, 100*best/direct, cpu)
	}
	tw.Flush()
	return nil
}

// pullChild runs pull in a child process, so that this process's CPU is
// the relay's alone.
func pullChild(addr string, n int64) (float64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	out, err := exec.Command(self, "pull", addr, strconv.FormatInt(n, 10)).Output()
	if err != nil {
		return 0, fmt.Errorf("pull: %w", err)
	}
	return strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
}

// pull asks for n bytes and reads them, returning MiB/s.
func pull(addr string, n int64) (float64, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	t0 := time.Now()
	if _, err := fmt.Fprintf(c, "%d\n", n); err != nil {
		return 0, err
	}
	buf := make([]byte, 256<<10)
	var got int64
	for {
		k, err := c.Read(buf)
		got += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if got != n+1 {
		return 0, fmt.Errorf("got %d bytes, want %d", got, n+1)
	}
	return float64(n) / (1 << 20) / time.Since(t0).Seconds(), nil
}

// copyRelay is the alternative to splice: every byte read into user space
// and written out again (what observing the bytes costs).
func copyRelay(to string) (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", to)
				if err != nil {
					return
				}
				defer u.Close()
				done := make(chan struct{})
				go func() {
					io.CopyBuffer(onlyWriter{u}, onlyReader{c}, make([]byte, 64<<10))
					u.(*net.TCPConn).CloseWrite()
					close(done)
				}()
				io.CopyBuffer(onlyWriter{c}, onlyReader{u}, make([]byte, 64<<10))
				c.(*net.TCPConn).CloseWrite()
				<-done
			}()
		}
	}()
	return ln, nil
}

// onlyReader and onlyWriter hide ReadFrom/WriteTo so io.Copy cannot splice.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }
