package watch

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// DefaultIgnore is ignored under every watched folder, in addition to
// [Options.Ignore]: version-control folders, dependency and bytecode caches,
// editor swap/backup/lock files and logs. They change often (an editor
// writes a swap file on every keystroke; an app writes its logs) and never
// need a restart; node_modules and .venv are also too big to watch.
var DefaultIgnore = []string{
	".git", ".hg", ".svn", ".bzr",
	"node_modules", ".venv", "__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache",
	".idea", ".vscode", ".DS_Store",
	"*.swp", "*.swo", "*.swx", "4913", "*~", ".#*", "#*#", "*___jb_tmp___", "*___jb_old___",
	"*.log",
}

// CheckIgnore reports the first pattern [Hub.Add] would refuse, so a
// config loader can name it with its file and line before anything runs.
func CheckIgnore(patterns []string) error {
	_, err := compileIgnore(patterns)
	return err
}

// matcher holds the compiled ignore patterns of one key; see the package
// documentation for the rules.
type matcher struct {
	names []string   // no '/': any single path element below the root
	rel   [][]string // with '/': elements of the path relative to the root
	abs   [][]string // absolute: elements of the absolute path
}

// compileIgnore checks and sorts patterns; the error names the bad one.
func compileIgnore(patterns []string) (matcher, error) {
	var m matcher
	for _, p := range patterns {
		switch {
		case strings.TrimSpace(p) == "":
			return matcher{}, fmt.Errorf("ignore pattern %q: empty", p)
		case filepath.IsAbs(p):
			segs := splitPath(filepath.Clean(p))
			if err := checkSegs(segs); err != nil {
				return matcher{}, fmt.Errorf("ignore pattern %q: %w", p, err)
			}
			m.abs = append(m.abs, segs)
		default:
			c := path.Clean(filepath.ToSlash(p))
			if c == "." || c == ".." || strings.HasPrefix(c, "../") {
				return matcher{}, fmt.Errorf("ignore pattern %q: points outside the watched folder", p)
			}
			segs := strings.Split(c, "/")
			if err := checkSegs(segs); err != nil {
				return matcher{}, fmt.Errorf("ignore pattern %q: %w", p, err)
			}
			if len(segs) == 1 {
				m.names = append(m.names, c)
			} else {
				m.rel = append(m.rel, segs)
			}
		}
	}
	return m, nil
}

func checkSegs(segs []string) error {
	for _, s := range segs {
		if s == "**" {
			continue
		}
		if _, err := path.Match(s, ""); err != nil {
			return fmt.Errorf("bad glob %q: %w", s, err)
		}
	}
	return nil
}

// splitPath cuts a cleaned absolute path into elements with '/' as the
// separator on every OS ("/a/b" → "", "a", "b"; `C:\a` → "C:", "a").
func splitPath(p string) []string {
	return strings.Split(filepath.ToSlash(p), "/")
}

// ignored reports whether the path whose elements below its watched root
// are rel, and whose absolute form is abs, is excluded. A path is excluded
// when it or a folder above it (below the root for names and rel patterns)
// matches, so an ignored folder hides its whole subtree.
func (m *matcher) ignored(rel []string, abs string) bool {
	for _, e := range rel {
		for _, n := range m.names {
			if ok, _ := path.Match(n, e); ok {
				return true
			}
		}
	}
	for _, r := range m.rel {
		for k := 1; k <= len(rel); k++ {
			if matchSegs(r, rel[:k]) {
				return true
			}
		}
	}
	if len(m.abs) > 0 {
		segs := splitPath(abs)
		for _, a := range m.abs {
			for k := 1; k <= len(segs); k++ {
				if matchSegs(a, segs[:k]) {
					return true
				}
			}
		}
	}
	return false
}

// matchSegs matches pattern elements against path elements: each element
// is a path.Match glob, and "**" stands for any number of elements (zero
// included, so "build/**" also matches "build").
func matchSegs(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchSegs(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// relElems returns the elements of p below root, and whether p is root or
// inside it. p and root are clean absolute paths.
func relElems(root, p string) ([]string, bool) {
	if p == root {
		return nil, true
	}
	prefix := root
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += string(filepath.Separator)
	}
	if !strings.HasPrefix(p, prefix) {
		return nil, false
	}
	return strings.Split(filepath.ToSlash(p[len(prefix):]), "/"), true
}
