package config

import (
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse checks that no input makes Parse panic, and that whatever it
// accepts renders back to a file it accepts again.
func FuzzParse(f *testing.F) {
	f.Add([]byte(specExample))
	f.Add([]byte("process.api = { script = \"api.js\", env = { A = 1, p = { B = 2 } } }\n[[process.x]]\n"))
	f.Add([]byte("[process.api]\nscript = \"api.js\"\nargs = [\n# c\n\"a\",\n]\n[process.api.env]\n"))
	f.Add([]byte("[a.b]\n[a]\nb = 1\n[a.b.c]\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %s", d)
			}
		}()
		name := filepath.Join(dir, "velos.toml")
		cf, err := Parse(name, data)
		if err != nil {
			return
		}
		if _, err := Parse(name, Format(cf.Processes)); err != nil {
			t.Fatalf("Format output rejected: %v\n%s", err, Format(cf.Processes))
		}
	})
}
