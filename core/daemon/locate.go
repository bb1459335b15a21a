package daemon

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The two binaries: the CLI people type and the daemon it starts.
const (
	CLIName    = "velos"
	DaemonName = "velosd"
)

// ErrNoCompanion is returned when the other binary cannot be found.
var ErrNoCompanion = errors.New("not found")

// Companion returns the binary called name that was installed with exe (one
// of velos and velosd finding the other): beside exe — make build and
// go install ./cmd/... put both in one folder — also when exe was reached
// through a symlink, else on PATH.
func Companion(exe, name string) (string, error) {
	if ext := filepath.Ext(exe); strings.EqualFold(ext, ".exe") {
		name += ext
	}
	dirs := []string{filepath.Dir(exe)}
	if r, err := filepath.EvalSymlinks(exe); err == nil && filepath.Dir(r) != dirs[0] {
		dirs = append(dirs, filepath.Dir(r))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs, nil
		}
		return p, nil
	}
	return "", fmt.Errorf("%s %w beside %s nor on PATH: install velos and velosd together (make build, go install ./cmd/...)", name, ErrNoCompanion, exe)
}
