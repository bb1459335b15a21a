package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/tools"
)

// The variables a daemon re-executing itself sets for its new image: the
// copy of the binary to fall back to, and — for that fallback — why the new
// one failed.
const (
	upgradePrevEnv   = "VELOS_UPGRADE_PREV"
	upgradeFailedEnv = "VELOS_UPGRADE_FAILED"
	upgradeBinaryEnv = "VELOS_UPGRADE_BINARY"
	// The HTTP endpoints served at the time (metrics serve, mcp http),
	// which the new image serves again on the same address: "ADDR" or
	// "ADDR remote" (off loopback, as allowed then).
	upgradeMetricsEnv = "VELOS_UPGRADE_METRICS"
	upgradeMCPHTTPEnv = "VELOS_UPGRADE_MCP_HTTP"
)

// servedEnv is the variable that carries an endpoint served on addr ("" for
// none) to the next image.
func servedEnv(name, addr string) []string {
	if addr == "" {
		return nil
	}
	v := addr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			v += " remote"
		}
	}
	return []string{name + "=" + v}
}

// takeServed reads and clears (children must not inherit it) an endpoint
// the previous image served.
func takeServed(name string) (addr string, remote bool) {
	v := os.Getenv(name)
	os.Unsetenv(name)
	addr, rest, _ := strings.Cut(v, " ")
	return addr, rest == "remote"
}

// upgrader re-executes the daemon in place (velos update, SIGHUP): the
// binary it was started from, as it is on disk now.
type upgrader struct {
	home  daemon.Home
	exe   string
	log   *slog.Logger
	procs *supervisor.Manager
	// env is what else the new image must find in its environment (the
	// service manager's variables, which the daemon removed from its own).
	env []string
	// requested holds one pending request, taken by the serving loop.
	requested chan struct{}
}

func newUpgrader(home daemon.Home, procs *supervisor.Manager, log *slog.Logger, exe string) *upgrader {
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			log.Warn("update: cannot find this daemon's binary", "err", err)
		}
	}
	return &upgrader{home: home, exe: exe, log: log, procs: procs, requested: make(chan struct{}, 1)}
}

// check runs the binary on disk with -version: it must start and say it is
// a velosd. It returns the version it reports.
func (u *upgrader) check(ctx context.Context) (string, error) {
	if u.exe == "" {
		return "", fmt.Errorf("update: this daemon does not know its binary")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, u.exe, "-version")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return "", fmt.Errorf("update: %s -version: %w; the running daemon carries on", u.exe, err)
	}
	v, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "velosd ")
	if !ok {
		return "", fmt.Errorf("update: %s -version answered %q, not a velosd version; the running daemon carries on", u.exe, strings.TrimSpace(string(out)))
	}
	return v, nil
}

// Update answers daemon_update: the binary is checked, then the serving
// loop re-executes it once this call has answered.
func (u *upgrader) Update(ctx context.Context) (tools.UpdateOut, error) {
	to, err := u.check(ctx)
	if err != nil {
		return tools.UpdateOut{}, err
	}
	u.request()
	return tools.UpdateOut{Binary: u.exe, From: version, To: to, Processes: len(u.procs.List())}, nil
}

func (u *upgrader) request() {
	_ = os.Remove(tools.UpdateResultPath(u.home.Dir)) // the next daemon writes it
	select {
	case u.requested <- struct{}{}:
	default:
	}
}

// hangup checks the binary and asks for the re-exec (SIGHUP).
func (u *upgrader) hangup(ctx context.Context) {
	if _, err := u.check(ctx); err != nil {
		u.log.Error("SIGHUP", "err", err)
		return
	}
	u.log.Info("SIGHUP: re-executing", "binary", u.exe)
	u.request()
}

// report writes how the update went for `velos update` to read.
func reportUpdate(home daemon.Home, failed string) {
	r := tools.UpdateResult{Version: version, FellBack: failed != "", Error: failed}
	b, _ := json.Marshal(r)
	path := tools.UpdateResultPath(home.Dir)
	_ = os.WriteFile(path+".tmp", b, 0o600)
	_ = os.Rename(path+".tmp", path)
}
