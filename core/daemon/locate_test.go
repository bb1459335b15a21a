package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestCompanion(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks and executable bits differ on windows")
	}
	dir := t.TempDir()
	write := func(p string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Installed side by side (make build, go install): found beside.
	cli := write(filepath.Join(dir, "bin", CLIName))
	d := write(filepath.Join(dir, "bin", DaemonName))
	if got, err := Companion(cli, DaemonName); err != nil || got != d {
		t.Fatalf("beside: %q %v, want %q", got, err, d)
	}
	// Reached through a symlink elsewhere: found beside the real file.
	link := filepath.Join(dir, "links", CLIName)
	os.MkdirAll(filepath.Dir(link), 0o755)
	if err := os.Symlink(cli, link); err != nil {
		t.Fatal(err)
	}
	if got, err := Companion(link, DaemonName); err != nil || got != d {
		t.Fatalf("through a symlink: %q %v, want %q", got, err, d)
	}
	// Alone in its folder: on PATH.
	lone := write(filepath.Join(dir, "lone", DaemonName))
	pathDir := filepath.Join(dir, "path")
	onPath := write(filepath.Join(pathDir, CLIName))
	t.Setenv("PATH", pathDir)
	if got, err := Companion(lone, CLIName); err != nil || got != onPath {
		t.Fatalf("on PATH: %q %v, want %q", got, err, onPath)
	}
	// Nowhere: an error that says what to install.
	t.Setenv("PATH", t.TempDir())
	if _, err := Companion(lone, CLIName); !errors.Is(err, ErrNoCompanion) {
		t.Fatalf("nowhere: %v", err)
	}
}
