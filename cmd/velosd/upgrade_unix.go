//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// reexec replaces this process with the binary on disk; env holds what
// must pass (the lock and socket, see daemon.Lock.Pass). It returns only
// when the exec failed. The running image is copied first, for the new one
// to fall back to should it fail to start.
func (u *upgrader) reexec(env []string) error {
	prev := filepath.Join(u.home.Run(), "velosd.prev")
	if err := copyFile(selfImage(u.exe), prev); err != nil {
		return fmt.Errorf("update: keep the running binary: %w", err)
	}
	env = append(append(append(os.Environ(), u.env...), env...), upgradePrevEnv+"="+prev, upgradeBinaryEnv+"="+u.exe)
	args := append([]string{u.exe}, os.Args[1:]...)
	return fmt.Errorf("update: exec %s: %w", u.exe, syscall.Exec(u.exe, args, env))
}

// fallBack replaces this image, which failed to start after an update,
// with the previous binary.
func fallBack(prev, binary string, pass []string, why error) error {
	env := append(append(os.Environ(), pass...), upgradeFailedEnv+"="+why.Error(), upgradeBinaryEnv+"="+binary)
	return fmt.Errorf("fall back to %s: %w", prev, syscall.Exec(prev, append([]string{prev}, os.Args[1:]...), env))
}

// selfImage is a path to the running binary even when the file it came
// from was replaced: Linux keeps it as /proc/self/exe.
func selfImage(exe string) string {
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		return "/proc/self/exe"
	}
	return exe
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := to + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o700)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, to)
}

// canReexec: velos update and SIGHUP re-execute the daemon here.
const canReexec = true

// onHangup re-executes the daemon on SIGHUP, as velos update does.
func onHangup(ctx context.Context, u *upgrader) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			u.hangup(ctx)
		}
	}
}
