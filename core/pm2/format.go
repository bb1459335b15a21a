package pm2

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/velos-pm/velos/core/config"
)

// TOML renders f as a velos.toml to be written at out: a header saying
// where it came from and what needs nothing, then one [process.NAME] table
// per app, each after comments for its keys that did not map. Relative
// paths are rewritten to hold from out's folder.
func (f *File) TOML(out string) []byte {
	outDir := f.Dir
	if out != "" {
		if abs, err := filepath.Abs(out); err == nil {
			outDir = filepath.Dir(abs)
		}
	}
	var b bytes.Buffer
	src := f.Path
	if abs, err := filepath.Abs(src); err == nil {
		src = abs
	}
	fmt.Fprintf(&b, "# Imported from %s by velos import pm2.\n", src)
	b.WriteString("# kill_signal = \"SIGINT\" keeps PM2's stop signal; Velos's own default is SIGTERM.\n")
	if f.Dump {
		b.WriteString("# env: pm2 save records the whole environment an app started with; variables\n")
		b.WriteString("# equal to the importing shell's (PATH, HOME …) are left out: the daemon passes its own.\n")
	}
	var ignored []string
	for _, n := range f.Notes {
		if !n.Unsupported {
			ignored = append(ignored, n.String())
		}
	}
	if len(ignored) > 0 {
		b.WriteString("#\n# Nothing to do in Velos:\n")
		for _, s := range ignored {
			fmt.Fprintf(&b, "#   %s\n", s)
		}
	}
	var fileLevel []string
	for _, n := range f.Notes {
		if n.Unsupported && n.App == "" {
			fileLevel = append(fileLevel, n.String())
		}
	}
	if len(fileLevel) > 0 {
		b.WriteString("#\n# Not carried over:\n")
		for _, s := range fileLevel {
			fmt.Fprintf(&b, "#   %s\n", s)
		}
	}
	for _, e := range f.Apps {
		b.WriteByte('\n')
		for _, n := range f.Notes {
			if n.Unsupported && n.App == e.Name {
				fmt.Fprintf(&b, "# PM2 %s: %s\n", n.Key, n.Msg)
			}
		}
		e.Process = f.rebase(e.Process, outDir)
		b.Write(config.Format([]config.Entry{e}))
	}
	return b.Bytes()
}

// rebase rewrites p's relative paths, which hold from f.Dir, to hold from dir.
func (f *File) rebase(p config.Process, dir string) config.Process {
	if filepath.Clean(dir) == filepath.Clean(f.Dir) {
		return p
	}
	move := func(s string) string {
		if s == "" || filepath.IsAbs(s) {
			return s
		}
		abs := filepath.Join(f.Dir, s)
		if rel, err := filepath.Rel(dir, abs); err == nil {
			return rel
		}
		return abs
	}
	// A script is a path only when it names a file (else a command on PATH
	// or a shell line).
	if _, err := os.Stat(filepath.Join(f.Dir, p.Script)); err == nil && !strings.ContainsAny(p.Script, " \t") {
		p.Script = move(p.Script)
	}
	p.Cwd = move(p.Cwd)
	p.EnvFile = move(p.EnvFile)
	if len(p.WatchPaths) > 0 {
		w := make([]string, len(p.WatchPaths))
		for i, s := range p.WatchPaths {
			w[i] = move(s)
		}
		p.WatchPaths = w
	}
	return p
}
