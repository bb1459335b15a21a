package watch

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIgnoreRules(t *testing.T) {
	root := filepath.FromSlash("/srv/app")
	tests := []struct {
		pattern string
		rel     string // below root, '/'-separated
		want    bool
	}{
		{"node_modules", "node_modules", true},
		{"node_modules", "node_modules/express/index.js", true},
		{"node_modules", "packages/a/node_modules/x.js", true},
		{"node_modules", "src/node_modules.js", false},
		{"*.log", "app.log", true},
		{"*.log", "logs/today.log", true},
		{"*.log", "app.log.txt", false},
		{"*.log", "catalog", false},
		{"tmp/*.txt", "tmp/a.txt", true},
		{"tmp/*.txt", "tmp/a.go", false},
		{"tmp/*.txt", "src/tmp/a.txt", false},    // relative to the root, from its start
		{"tmp/*.txt", "tmp/sub/a.txt", false},    // * stays within one element
		{"tmp/*.txt", "tmp/dir.txt/inner", true}, // an ignored folder hides its subtree
		{"build/**", "build", true},
		{"build/**", "build/a/b/c.o", true},
		{"build/**", "src/build/x", false},
		{"**/gen/*.go", "gen/a.go", true},
		{"**/gen/*.go", "x/y/gen/a.go", true},
		{"**/gen/*.go", "x/y/gen/a.txt", false},
		{"a/**/z", "a/z", true},
		{"a/**/z", "a/b/c/z", true},
		{"a/**/z", "a/b/c/y", false},
		{"./cache/", "cache/x", true}, // "./" and a trailing "/" are cleaned away
		{"logs/", "sub/logs/x", true}, // so "logs/" is the name pattern "logs"
		{"/srv/app/var/log", "var/log/x.txt", true},
		{"/srv/app/var/log", "var/logs/x.txt", false},
		{"/srv/app/var/*", "var/cache/x", true},
		{"/srv/other", "var/x", false},
		{"/srv", "anything", true}, // an ancestor of the root excludes it all
		{"[abc].txt", "b.txt", true},
		{".git", ".github/workflows/ci.yml", false},
	}
	for _, tt := range tests {
		pat := tt.pattern
		if strings.HasPrefix(pat, "/") {
			pat = filepath.FromSlash(pat)
		}
		m, err := compileIgnore([]string{pat})
		if err != nil {
			t.Fatalf("compile %q: %v", tt.pattern, err)
		}
		p := filepath.Join(root, filepath.FromSlash(tt.rel))
		rel, ok := relElems(root, p)
		if !ok {
			t.Fatalf("%s is not below %s", p, root)
		}
		if got := m.ignored(rel, p); got != tt.want {
			t.Errorf("pattern %q, path %q: ignored = %v, want %v", tt.pattern, tt.rel, got, tt.want)
		}
	}
}

func TestDefaultIgnore(t *testing.T) {
	m, err := compileIgnore(DefaultIgnore)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.FromSlash("/srv/app")
	for rel, want := range map[string]bool{
		".git/HEAD": true, "node_modules/x/index.js": true, "pkg/__pycache__/m.pyc": true,
		"src/.main.go.swp": true, "src/main.go~": true, "4913": true, ".#main.go": true,
		"#main.go#": true, "server.log": true, ".venv/bin/python": true,
		"src/main.go": false, "server.js": false, ".env": false, "config/app.toml": false,
		".github/workflows/ci.yml": false,
	} {
		p := filepath.Join(root, filepath.FromSlash(rel))
		r, _ := relElems(root, p)
		if got := m.ignored(r, p); got != want {
			t.Errorf("%s: ignored = %v, want %v", rel, got, want)
		}
	}
}

func TestIgnorePatternErrors(t *testing.T) {
	for _, tt := range []struct{ pattern, want string }{
		{"", `ignore pattern "": empty`},
		{"  ", `ignore pattern "  ": empty`},
		{"[a", `ignore pattern "[a": bad glob "[a"`},
		{"src/[", `ignore pattern "src/[": bad glob "["`},
		{"..", `ignore pattern "..": points outside the watched folder`},
		{"../x", `ignore pattern "../x": points outside the watched folder`},
		{".", `ignore pattern ".": points outside the watched folder`},
	} {
		err := CheckIgnore([]string{"node_modules", tt.pattern})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("pattern %q: error %v, want it to contain %q", tt.pattern, err, tt.want)
		}
	}
}

func TestBurstEnd(t *testing.T) {
	t0 := time.Unix(1000, 0)
	d := 300 * time.Millisecond
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	for _, tt := range []struct {
		name        string
		first, last time.Time
		want        time.Time
	}{
		{"one event: debounce after it", t0, t0, ms(300)},
		{"quiet time counts from the last event", t0, ms(50), ms(350)},
		{"a burst that never settles ends after ten debounces", t0, ms(2900), ms(3000)},
		{"exactly at the cap", t0, ms(2700), ms(3000)},
	} {
		if got := burstEnd(tt.first, tt.last, d); !got.Equal(tt.want) {
			t.Errorf("%s: burstEnd = %v, want %v", tt.name, got.Sub(t0), tt.want.Sub(t0))
		}
	}
}
