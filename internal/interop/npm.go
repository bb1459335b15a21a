// Package interop tests Velos with MCP clients that are not the Go SDK: the
// official TypeScript SDK (what Claude Code, Cursor and the MCP Inspector run)
// and the MCP Inspector's CLI, over stdio (velos mcp-server) and streamable
// HTTP. The clients are npm packages pinned by js/package-lock.json and
// installed by [Install] into the user's cache dir, never into the repository.
package interop

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// JSDir is the folder of package.json, package-lock.json and the client
// script.
func JSDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "js")
}

// ErrNoNode says node or npm is not installed: the only reason the interop
// tests skip.
var ErrNoNode = errors.New("node and npm are needed for the MCP interop tests")

// Install makes sure the packages of js/package-lock.json are installed with
// `npm ci` and returns their node_modules folder. The install lives in
// <user cache dir>/velos-interop/<hash of the lock file>, so it is done once
// per machine and lock file; concurrent callers (test binaries run in
// parallel) each install into their own temporary folder and the first
// rename wins.
func Install() (string, error) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("%w: %s not on PATH", ErrNoNode, tool)
		}
	}
	src := JSDir()
	h := sha256.New()
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			return "", fmt.Errorf("interop packages: %w", err)
		}
		h.Write(b)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	base = filepath.Join(base, "velos-interop")
	dir := filepath.Join(base, hex.EncodeToString(h.Sum(nil))[:16])
	modules := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(dir, "installed")); err == nil {
		return modules, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("interop packages: %w", err)
	}
	tmp, err := os.MkdirTemp(base, "install-")
	if err != nil {
		return "", fmt.Errorf("interop packages: %w", err)
	}
	defer os.RemoveAll(tmp) // gone after a successful rename; the leftovers of a failed install otherwise
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, _ := os.ReadFile(filepath.Join(src, f))
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
			return "", fmt.Errorf("interop packages: %w", err)
		}
	}
	// --ignore-scripts: nothing here needs an install script, and the
	// Inspector's only one installs its sources' own clients.
	cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci of %s in %s: %w\n%s", filepath.Join(src, "package-lock.json"), tmp, err, out)
	}
	if err := os.WriteFile(filepath.Join(tmp, "installed"), nil, 0o644); err != nil {
		return "", fmt.Errorf("interop packages: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process got there first, or a failed install left dir
		// behind without its marker: use a complete one, else replace it.
		if _, serr := os.Stat(filepath.Join(dir, "installed")); serr == nil {
			return modules, nil
		}
		if rerr := os.RemoveAll(dir); rerr != nil {
			return "", fmt.Errorf("interop packages: %w", rerr)
		}
		if err := os.Rename(tmp, dir); err != nil {
			return "", fmt.Errorf("interop packages: %w", err)
		}
	}
	return modules, nil
}
