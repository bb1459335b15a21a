package pm2

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/internal/fuzzcheck"
)

// fuzzNames are the file kinds FuzzParse reads, by its first argument.
var fuzzNames = []string{"ecosystem.json", "ecosystem.yaml", "dump.pm2"}

// FuzzParse reads arbitrary PM2 files (JSON, YAML, dump): nothing panics,
// and every file accepted becomes a velos.toml that Velos loads, with the
// same process names.
func FuzzParse(f *testing.F) {
	for i, name := range []string{"ecosystem.json", "ecosystem.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "forms", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	f.Add(uint8(0), []byte(`{"apps":[{"name":"api","script":"server.js","instances":-1,"env":{"PORT":3000},"env_production":{"X":"1"},"cron_restart":"0 0 30 2 *","max_memory_restart":"1X"}]}`))
	f.Add(uint8(0), []byte(`[{"script":"a b.js","args":"--x 'y z'","interpreter":"none","exec_mode":"cluster_mode","watch":true,"ignore_watch":["node_modules"]}]`))
	f.Add(uint8(2), []byte(`[{"name":"w","pm_exec_path":"/srv/w.js","pm_cwd":"/srv","exec_interpreter":"node","node_args":[],"args":[],"env":{"A":"1"},"instances":1,"autorestart":true,"kill_timeout":1600,"pm2_env":{}}]`))
	f.Add(uint8(1), []byte("apps:\n  - script: run.py\n    interpreter: python3\n    restart_delay: 250\n    exp_backoff_restart_delay: 100\n"))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		defer fuzzcheck.PerInput(10 * time.Second)()
		dir := t.TempDir()
		name := filepath.Join(dir, fuzzNames[int(which)%len(fuzzNames)])
		pf, err := Parse(name, data, Options{CPUs: 4})
		if err != nil {
			return
		}
		out := filepath.Join(dir, "velos.toml")
		text := pf.TOML(out)
		cf, err := config.Parse(out, text)
		if err != nil {
			// Values the PM2 file holds may be refused (a bad cron, a cluster
			// with no port, a script missing here), each with its key; the
			// file itself must be TOML Velos reads, with keys it knows.
			var cerr *config.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("the velos.toml written for %q: %v", data, err)
			}
			for _, p := range cerr.Problems {
				if p.Key == "" || strings.HasPrefix(p.Msg, "syntax error") || strings.HasPrefix(p.Msg, "unknown key") || strings.HasPrefix(p.Msg, "want ") {
					t.Fatalf("the velos.toml written for %q does not read: %v\n%s", data, &p, text)
				}
			}
			return
		}
		if len(cf.Processes) != len(pf.Apps) {
			t.Fatalf("%d apps became %d processes:\n%s", len(pf.Apps), len(cf.Processes), text)
		}
		for i, a := range pf.Apps {
			if cf.Processes[i].Name != a.Name {
				t.Fatalf("app %d %q became %q:\n%s", i, a.Name, cf.Processes[i].Name, text)
			}
		}
	})
}
