// Package wrk runs the wrk HTTP load generator (the Debian package) for the
// benchmarks and reads its report: requests, socket errors by kind, non-2xx
// answers, requests/s, throughput and latency percentiles.
//
// A run either lasts a fixed time ([Run]) or until the caller stops it
// ([Start], then [Running.Stop]): wrk ends early on SIGINT and still
// prints its report, so a benchmark can keep the load on for exactly as
// long as something else (a reload) takes.
package wrk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// Options of one run.
type Options struct {
	URL         string
	Connections int
	// Duration is how long [Run] lasts; for [Start] it is the longest the
	// run may last if it is never stopped.
	Duration time.Duration
	// Close sends "Connection: close": a new connection per request,
	// instead of wrk's default keep-alive.
	Close bool
}

func (o Options) args() []string {
	secs := max(1, int(o.Duration.Round(time.Second).Seconds()))
	args := []string{"-t1", "-c" + strconv.Itoa(o.Connections), "-d" + strconv.Itoa(secs) + "s", "--latency", "--timeout", "10s"}
	if o.Close {
		args = append(args, "-H", "Connection: close")
	}
	return append(args, o.URL)
}

// Result is wrk's report of one run.
type Result struct {
	Requests int64         // answered (whatever the status)
	Elapsed  time.Duration // as wrk measured it
	RPS      float64
	MiBps    float64
	P50      time.Duration
	P90      time.Duration
	P99      time.Duration
	Non2xx   int64 // answers that were neither 2xx nor 3xx
	// Socket errors: a connection refused (Connect), closed or reset while
	// a request waited for its answer (Read), a request that could not be
	// sent (Write), no answer within 10 s (Timeout).
	Connect, Read, Write, Timeout int64
}

// SocketErrors is the sum of the four kinds.
func (r Result) SocketErrors() int64 { return r.Connect + r.Read + r.Write + r.Timeout }

// Failed is every request that did not get a 2xx or 3xx answer.
func (r Result) Failed() int64 { return r.SocketErrors() + r.Non2xx }

// Run runs wrk at path for o.Duration.
func Run(ctx context.Context, path string, o Options) (Result, error) {
	out, err := exec.CommandContext(ctx, path, o.args()...).CombinedOutput()
	if err != nil {
		return Result{}, fmt.Errorf("wrk %s: %w: %s", o.URL, err, out)
	}
	return Parse(string(out))
}

// Running is a wrk run started by [Start].
type Running struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
	url  string
}

// Start starts wrk at path in the background; [Running.Stop] ends it.
func Start(path string, o Options) (*Running, error) {
	r := &Running{cmd: exec.Command(path, o.args()...), done: make(chan error, 1), url: o.URL}
	r.cmd.Stdout = &r.out
	r.cmd.Stderr = &r.out
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start wrk: %w", err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	return r, nil
}

// Stop ends the run (SIGINT: wrk stops its connections and prints its
// report) and returns the report. A wrk that ended by itself before (its
// duration passed, or it failed) is reported as it ended.
func (r *Running) Stop() (Result, error) {
	err := r.cmd.Process.Signal(os.Interrupt)
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return Result{}, fmt.Errorf("stop wrk: %w", err)
	}
	select {
	case err = <-r.done:
	case <-time.After(15 * time.Second): // wrk waits up to --timeout for its connections
		r.cmd.Process.Kill()
		<-r.done
		return Result{}, fmt.Errorf("wrk %s did not stop on SIGINT: %s", r.url, r.out.String())
	}
	if err != nil && !interrupted(err) {
		return Result{}, fmt.Errorf("wrk %s: %w: %s", r.url, err, r.out.String())
	}
	return Parse(r.out.String())
}

// Kill ends the run without a report (the benchmark is being torn down).
func (r *Running) Kill() {
	if r.cmd.Process.Kill() == nil {
		<-r.done
	}
}

func interrupted(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGINT
}

var (
	reRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reTransfer = regexp.MustCompile(`Transfer/sec:\s+([0-9.]+)(B|KB|MB|GB)`)
	rePct      = regexp.MustCompile(`(?m)^\s+(50|90|99)%\s+([0-9.]+)(us|ms|s|m|h)\s*$`)
	reReqs     = regexp.MustCompile(`(\d+) requests in ([0-9.]+)(us|ms|s|m|h)`)
	reErrors   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	reNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	units      = map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}
)

// Parse reads wrk's report (run with --latency for the percentiles).
func Parse(out string) (Result, error) {
	var r Result
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk's report: %s", out)
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	if m := reReqs.FindStringSubmatch(out); m != nil {
		r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
		v, _ := strconv.ParseFloat(m[2], 64)
		r.Elapsed = time.Duration(v * units[m[3]])
	}
	if m := reTransfer.FindStringSubmatch(out); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		r.MiBps = v * map[string]float64{"B": 1.0 / (1 << 20), "KB": 1.0 / 1024, "MB": 1, "GB": 1024}[m[2]]
	}
	for _, m := range rePct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		d := time.Duration(v * units[m[3]])
		switch m[1] {
		case "50":
			r.P50 = d
		case "90":
			r.P90 = d
		case "99":
			r.P99 = d
		}
	}
	if m := reErrors.FindStringSubmatch(out); m != nil {
		for i, p := range []*int64{&r.Connect, &r.Read, &r.Write, &r.Timeout} {
			*p, _ = strconv.ParseInt(m[i+1], 10, 64)
		}
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	return r, nil
}

// Find returns the path of wrk. When it is not installed and this process
// may run apt-get (root), it installs the Debian package first; otherwise
// the error says why wrk cannot be had.
func Find(ctx context.Context) (string, error) {
	if p, err := exec.LookPath("wrk"); err == nil {
		return p, nil
	}
	apt, err := exec.LookPath("apt-get")
	if err != nil {
		return "", errors.New("wrk is not installed and there is no apt-get to install it (Debian: apt-get install wrk)")
	}
	if os.Geteuid() != 0 {
		return "", errors.New("wrk is not installed and installing it needs root: sudo apt-get install wrk")
	}
	fmt.Fprintln(os.Stderr, "wrk is not installed: apt-get install -y wrk")
	cmd := exec.CommandContext(ctx, apt, "install", "-y", "-q", "wrk")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get install wrk: %w\n%s", err, out)
	}
	return exec.LookPath("wrk")
}
