//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/core/keeper"
	"github.com/velos-pm/velos/core/supervisor"
)

// keeperIdle is how long a keeper that holds nothing, with no daemon
// connected, lives on.
const keeperIdle = 10 * time.Second

func keeperSocket(home daemon.Home) string { return filepath.Join(home.Dir, "keeper.sock") }

// runKeeper is `velosd keeper`: the descriptor keeper of core/keeper,
// serving the socket its daemon bound and passed as fd 3.
func runKeeper(home daemon.Home) error {
	logf, err := os.OpenFile(home.DaemonLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("keeper log: %w", err)
	}
	defer logf.Close()
	log := slog.New(slog.NewTextHandler(logf, nil)).With("keeper", os.Getpid())
	// Its daemon's end: hang-ups and Ctrl-C are not for the keeper.
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE)
	f := os.NewFile(3, "keeper.sock")
	if f == nil {
		return errors.New("keeper: no socket on fd 3 (velosd starts the keeper itself)")
	}
	fl, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("keeper: fd 3: %w", err)
	}
	ln, ok := fl.(*net.UnixListener)
	if !ok {
		fl.Close()
		return errors.New("keeper: fd 3 is not a unix socket")
	}
	log.Info("keeper started")
	err = keeper.New(log, filepath.Join(home.Run(), "spool")).Run(context.Background(), ln, keeperSocket(home), keeperIdle)
	log.Info("keeper stopped")
	return err
}

// keeperHolder is the daemon's [supervisor.Holder]: its session with the
// keeper, which it owns. It connects on first use: a daemon with nothing to
// adopt starts its keeper with its first process, not before it answers
// its first client. Should the keeper die, it starts another and has
// onLost (the Manager's Rehold) give it everything again.
type keeperHolder struct {
	home daemon.Home
	log  *slog.Logger

	mu       sync.Mutex
	c        *keeper.Client
	quitting bool
	onLost   func()
}

// setOnLost sets what gives a new keeper everything again.
func (k *keeperHolder) setOnLost(f func()) {
	k.mu.Lock()
	k.onLost = f
	k.mu.Unlock()
}

// openKeeper returns the home's keeper holder; with now, it connects at
// once (there is something to adopt, or a keeper already runs).
func openKeeper(home daemon.Home, log *slog.Logger, now bool) (*keeperHolder, error) {
	k := &keeperHolder{home: home, log: log}
	if _, err := os.Stat(keeperSocket(home)); now || err == nil {
		if _, err := k.client(); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// client connects to the home's keeper, starting one (detached, in a
// session of its own) when none answers, and takes ownership.
func (k *keeperHolder) client() (*keeper.Client, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.c != nil {
		return k.c, nil
	}
	path := keeperSocket(k.home)
	c, err := keeper.Dial(path)
	var pid int
	if err == nil {
		// A keeper killed a moment ago may still accept the connection
		// and then reset it: that is no keeper either.
		if pid, err = c.Own(); err != nil {
			c.Close()
		} else if p, err := os.FindProcess(pid); err == nil {
			// Started by this process before it re-executed itself (velos
			// update), it is this image's child: reap it should it end
			// first, as startKeeper does. (Another's child: Wait fails at
			// once.)
			go func() { _, _ = p.Wait() }()
		}
	}
	if err != nil {
		if c, err = startKeeper(k.home, path); err != nil {
			return nil, err
		}
		if pid, err = c.Own(); err != nil {
			c.Close()
			return nil, err
		}
	}
	k.log.Info("keeper", "pid", pid, "socket", path)
	k.c = c
	go k.watch(path)
	return c, nil
}

// watch holds an idle session with the keeper: its end is the keeper's.
func (k *keeperHolder) watch(path string) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return
	}
	_, _ = conn.Read(make([]byte, 1)) // the keeper never writes unasked
	conn.Close()
	k.mu.Lock()
	if k.quitting {
		k.mu.Unlock()
		return
	}
	old, onLost := k.c, k.onLost
	k.c = nil
	k.mu.Unlock()
	if old != nil {
		old.Close()
	}
	k.log.Warn("keeper gone; starting another and handing it every process's pipes again")
	if _, err := k.client(); err != nil {
		k.log.Error("keeper", "err", err)
		return
	}
	if onLost != nil {
		onLost()
	}
	k.log.Info("the new keeper holds every pipe again")
}

// startKeeper binds the keeper's socket itself and hands it to the new
// keeper process: the connection made right after waits in the backlog,
// however long the keeper takes to start.
func startKeeper(home daemon.Home, path string) (*keeper.Client, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start keeper: %w", err)
	}
	_ = os.Remove(path) // no keeper answers: a stale socket
	old := syscall.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("start keeper: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	f, err := ln.File()
	ln.Close()
	if err != nil {
		return nil, fmt.Errorf("start keeper: %w", err)
	}
	defer f.Close()
	cmd := exec.Command(exe, "keeper")
	cmd.Env = append(os.Environ(), "VELOS_HOME="+home.Dir)
	cmd.ExtraFiles = []*os.File{f}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start keeper %s: %w", exe, err)
	}
	// It outlives this daemon; reap it should it end first.
	go func() { _ = cmd.Wait() }()
	return keeper.Dial(path)
}

func (k *keeperHolder) Hold(pipes, others map[string]*os.File) error {
	c, err := k.client()
	if err != nil {
		return err
	}
	if len(others) > 0 {
		if err := c.Put(others); err != nil {
			return err
		}
	}
	if len(pipes) == 0 {
		return nil
	}
	return c.PutSpooled(pipes)
}

func (k *keeperHolder) Take(prefix string) (map[string]supervisor.Handed, error) {
	c, err := k.client()
	if err != nil {
		return nil, err
	}
	got, err := c.Take(prefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]supervisor.Handed, len(got))
	for key, t := range got {
		out[key] = supervisor.Handed{File: t.File, Spool: t.Spool}
	}
	return out, nil
}

func (k *keeperHolder) Release(prefix string) {
	c, err := k.client()
	if err != nil {
		return
	}
	if err := c.Delete(prefix); err != nil {
		k.log.Warn("keeper release", "keys", prefix, "err", err)
	}
}

// forget drops what the keeper holds for runs the runtime file does not
// name (a runtime file lost, or runs of a daemon older still).
func (k *keeperHolder) forget(known map[string]bool) {
	k.mu.Lock()
	c := k.c
	k.mu.Unlock()
	if c == nil {
		return // not connected: no keeper was running
	}
	keys, err := c.List("")
	if err != nil {
		k.log.Warn("keeper list", "err", err)
		return
	}
	for _, key := range keys {
		keep := false
		for prefix := range known {
			keep = keep || strings.HasPrefix(key, prefix)
		}
		if !keep {
			k.Release(key)
		}
	}
}

// quit stops the keeper: nothing is left to hold (a graceful stop).
func (k *keeperHolder) quit() {
	k.mu.Lock()
	k.quitting = true
	c := k.c
	k.mu.Unlock()
	if c == nil {
		return
	}
	if err := c.Quit(); err != nil {
		k.log.Warn("keeper quit", "err", err)
	}
	c.Close()
}
