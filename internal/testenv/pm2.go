package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// PM2Version is the PM2 the tests compare against (bench/pm2.sh uses it too).
const PM2Version = "7"

// PM2 returns the path of a real pm2 from the npm registry, installed once
// into the user's cache folder (velos-test/pm2) and reused by later runs.
func PM2(t testing.TB) string {
	t.Helper()
	return filepath.Join(NPM(t, "pm2", "pm2@"+PM2Version), ".bin", "pm2")
}

// InstallPM2 is [PM2] for programs that are not tests (bench/reload): the
// same install in the user's cache folder, or an error that says why it
// cannot be had ([ErrNoNode] when node or npm is missing).
func InstallPM2() (string, error) {
	npmMu.Lock()
	defer npmMu.Unlock()
	r := npmInstall("pm2", []string{"pm2@" + PM2Version})
	switch {
	case r.why != "":
		return "", fmt.Errorf("%w: %s", ErrNoNode, r.why)
	case r.err != nil:
		return "", r.err
	}
	return filepath.Join(r.dir, ".bin", "pm2"), nil
}

// ErrNoNode says node or npm is not installed.
var ErrNoNode = errors.New("no node or npm")

var (
	npmMu   sync.Mutex
	npmDirs = map[string]npmResult{}
)

type npmResult struct {
	dir string
	err error
	why string // a reason to skip: node or npm missing
}

// NPM installs pkgs (name@version each) from the npm registry into the
// user's cache folder (velos-test/NAME), once per test process and reused
// by later runs, and returns that node_modules folder. Without node or npm
// the test is skipped with the reason; a failed install fails it.
func NPM(t testing.TB, name string, pkgs ...string) string {
	t.Helper()
	npmMu.Lock()
	defer npmMu.Unlock()
	key := name + " " + strings.Join(pkgs, " ")
	r, done := npmDirs[key]
	if !done {
		r = npmInstall(name, pkgs)
		npmDirs[key] = r
	}
	switch {
	case r.why != "":
		t.Skip(r.why)
	case r.err != nil:
		t.Fatal(r.err)
	}
	return r.dir
}

func npmInstall(name string, pkgs []string) npmResult {
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			return npmResult{why: bin + " is not installed: cannot install " + strings.Join(pkgs, " ")}
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return npmResult{err: fmt.Errorf("no cache folder for npm packages: %w", err)}
	}
	dir := filepath.Join(cache, "velos-test", name)
	mods := filepath.Join(dir, "node_modules")
	// The set installed is recorded: a changed version list installs again.
	stamp := filepath.Join(dir, "installed")
	if b, err := os.ReadFile(stamp); err == nil && string(b) == strings.Join(pkgs, "\n") {
		return npmResult{dir: mods}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := append([]string{"install", "--prefix", dir, "--no-audit", "--no-fund", "--no-save"}, pkgs...)
	if out, err := exec.CommandContext(ctx, "npm", args...).CombinedOutput(); err != nil {
		return npmResult{err: fmt.Errorf("npm install %s: %w\n%s", strings.Join(pkgs, " "), err, out)}
	}
	if err := os.WriteFile(stamp, []byte(strings.Join(pkgs, "\n")), 0o644); err != nil {
		return npmResult{err: err}
	}
	return npmResult{dir: mods}
}
