// Command velosd is the Velos daemon: it owns every managed process, their
// logs and metrics, and serves every tool (handlers.All), the resources and
// the prompts over MCP on the unix socket in $VELOS_HOME — and over HTTP
// when asked. The velos CLI starts it on demand (found beside itself, else
// on PATH); `velos daemon` runs it in the foreground for systemd units and
// containers. It links no CLI parser and no TUI: see DESIGN.md, "Why two
// binaries".
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/velos-pm/velos/core/daemon"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	tuneMemory()
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// tuneMemory fits the runtime to a daemon whose heap is small and
// long-lived. A collection at 50% growth instead of 100% halves the heap's
// floor (4 MiB by default); GOGC and GOMEMLIMIT in the environment still
// win. Allocation sampling is off: its first sample creates a 1.4 MiB bucket
// table, and nothing reads the profile.
func tuneMemory() {
	runtime.MemProfileRate = 0
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
}

// Main runs the daemon with args and returns its exit code: 0 after a
// graceful stop, 1 when it could not serve (another daemon holds the home,
// a bad flag value …), 2 for a bad command line.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("velosd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: velosd [flags]  (also: velos daemon [flags])\n\n"+
			"The Velos daemon, in the foreground: serves MCP on $VELOS_HOME/velos.sock until\n"+
			"SIGTERM, SIGINT or velos kill, then stops every process gracefully.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var c daemonCmd
	fs.BoolVar(&c.Resurrect, "resurrect", false, "Start the processes saved with velos save before serving (for boot); a missing or bad dump is logged to daemon.log, not fatal.")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "Serve Prometheus /metrics here from the start, e.g. 127.0.0.1:9615 (as velos metrics serve). Env: VELOS_METRICS_ADDR.")
	fs.BoolVar(&c.MetricsAllowRemote, "metrics-allow-remote", false, "Allow --metrics-addr off loopback. Env: VELOS_METRICS_ALLOW_REMOTE.")
	fs.DurationVar(&c.SampleInterval, "sample-interval", 5*time.Second, "How often processes are measured while no client watches (1s while one does); max_memory acts after 3 samples above the limit. Env: VELOS_SAMPLE_INTERVAL.")
	fs.DurationVar(&c.LogErrorInterval, "log-error-interval", time.Minute, "While a log cannot be written (a full disk), its lines are dropped and daemon.log says so at most this often per log. Env: VELOS_LOG_ERROR_INTERVAL.")
	showVersion := fs.Bool("version", false, "Print the velosd version.")
	if err := fromEnv(fs); err != nil {
		fmt.Fprintln(stderr, "velosd:", err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 1 && fs.Arg(0) == "keeper" {
		// velosd starts its keeper as `velosd keeper` (see keeper_unix.go).
		home, err := daemon.DefaultHome()
		if err == nil {
			err = runKeeper(home)
		}
		if err != nil {
			fmt.Fprintln(stderr, "velosd keeper:", err)
			return 1
		}
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "velosd: unexpected argument %q (velosd takes flags only; see velosd --help)\n", fs.Arg(0))
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "velosd", version)
		return 0
	}
	home, err := daemon.DefaultHome()
	if err != nil {
		fmt.Fprintln(stderr, "velosd:", err)
		return 1
	}
	if err := c.Run(home); err != nil {
		fmt.Fprintln(stderr, "velosd:", err)
		return 1
	}
	return 0
}

// flagEnv names the environment variable each flag also reads; a flag on
// the command line wins over it.
var flagEnv = map[string]string{
	"metrics-addr":         "VELOS_METRICS_ADDR",
	"metrics-allow-remote": "VELOS_METRICS_ALLOW_REMOTE",
	"sample-interval":      "VELOS_SAMPLE_INTERVAL",
	"log-error-interval":   "VELOS_LOG_ERROR_INTERVAL",
}

// fromEnv sets each flag from its variable, when set; a bad value is an
// error naming the variable.
func fromEnv(fs *flag.FlagSet) error {
	for name, env := range flagEnv {
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			continue
		}
		if b, isBool := fs.Lookup(name).Value.(interface{ IsBoolFlag() bool }); isBool && b.IsBoolFlag() {
			if _, err := strconv.ParseBool(v); err != nil {
				return fmt.Errorf("%s=%q: want true or false", env, v)
			}
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("%s=%q: %w", env, v, err)
		}
	}
	return nil
}
