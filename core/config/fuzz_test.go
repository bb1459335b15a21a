package config

import (
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/velos-pm/velos/internal/fuzzcheck"
)

// FuzzParse checks that no input makes Parse or Resolve panic, and that
// whatever Parse accepts, Format renders back to a file Parse reads to the
// same processes (what config_set and velos import write relies on it).
func FuzzParse(f *testing.F) {
	f.Add([]byte(specExample))
	f.Add([]byte("process.api = { script = \"api.js\", env = { A = 1, p = { B = 2 } } }\n[[process.x]]\n"))
	f.Add([]byte("[process.api]\nscript = \"api.js\"\nargs = [\n# c\n\"a\",\n]\n[process.api.env]\n"))
	f.Add([]byte("[a.b]\n[a]\nb = 1\n[a.b.c]\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		defer fuzzcheck.PerInput(10 * time.Second)()
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
		again, err := Parse(name, Format(cf.Processes))
		if err != nil {
			t.Fatalf("Format output rejected: %v\n%s", err, Format(cf.Processes))
		}
		sameProcesses(t, cf.Processes, again.Processes)
		_, _ = cf.Resolve("")
		for _, e := range cf.Processes {
			for prof := range e.Process.EnvProfiles {
				_, _ = cf.Resolve(prof)
			}
		}
	})
}

// sameProcesses fails unless a and b hold the same names and values
// (positions aside).
func sameProcesses(t *testing.T, a, b []Entry) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d processes became %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || !reflect.DeepEqual(a[i].Process, b[i].Process) {
			t.Fatalf("process %q %+v\nread back as %q %+v\nfrom:\n%s", a[i].Name, a[i].Process, b[i].Name, b[i].Process, Format(a))
		}
	}
}

// FuzzSetKey sets one key from arbitrary text, as velos config set does:
// nothing panics, and a value SetKey accepts is written by Format to a
// file Parse reads back to the same process.
func FuzzSetKey(f *testing.F) {
	for _, kv := range [][2]string{
		{"max_memory", "512M"}, {"instances", "max"}, {"args", `["a", "b c"]`}, {"args", "a,b"}, {"env.PORT", "3000"},
		{"env.production.NODE_ENV", "production"}, {"watch", "true"}, {"cron_restart", "0 3 * * *"}, {"kill_signal", "SIGINT"},
		{"restart_factor", "1.5"}, {"max_restarts", "-1"}, {"listen", ":$PORT"}, {"ready_http", "http://127.0.0.1:$PORT/h"},
		{"env.a.b.c", "x"}, {"scrpt", "x"}, {"env.\"q\"", "\n"}, {"watch_ignore", "[\"a\",]"},
	} {
		f.Add(kv[0], kv[1])
	}
	name := filepath.Join(f.TempDir(), "velos.toml")
	f.Fuzz(func(t *testing.T, key, text string) {
		defer fuzzcheck.PerInput(10 * time.Second)()
		p := Process{Script: "sh"}
		if err := SetKey(&p, key, text); err != nil {
			return
		}
		procs := []Entry{{Name: "api", Process: p}}
		cf, err := Parse(name, Format(procs))
		if err != nil {
			// SetKey checks one key; Parse also checks keys against each
			// other (watch_ignore without watch). The TOML itself must read.
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatal(err)
			}
			for _, pr := range cerr.Problems {
				if pr.Key == "" || strings.HasPrefix(pr.Msg, "syntax error") || strings.HasPrefix(pr.Msg, "unknown key") || strings.HasPrefix(pr.Msg, "want ") {
					t.Fatalf("SetKey(%q, %q) accepted, Format wrote a file that does not read: %v\n%s", key, text, &pr, Format(procs))
				}
			}
			return
		}
		sameProcesses(t, procs, cf.Processes)
	})
}

// valueFormats are the formats [checkString] judges, indexed by the first
// argument of FuzzValue.
var valueFormats = []string{"size", "duration", "cron", "address", "url", "instances", "signal", "mode", "autorestart", "balance"}

// FuzzValue checks the readers of string-typed values (sizes, durations,
// cron expressions, addresses, URLs, instances, signals, enums): no input
// makes them panic, and what they accept reads back the same. A cron
// expression Velos accepts must also be one gocron (which runs the
// schedule) accepts, with a next run: a config that validates must not
// fail when its schedule is set up.
func FuzzValue(f *testing.F) {
	for i, seeds := range [][]string{
		{"512M", "1.5G", "100K", "1048576", "2TiB", "1kb", " 7 m ", "9999999999T", ".5G", "1e3"},
		{"500ms", "1m30s", "2h", "-1s", "1.5h", "0", "9223372036s"},
		{"0 3 * * *", "*/10 * * * * *", "@daily", "@every 1h", "TZ=Europe/Paris 0 3 * * *", "0 0 30 2 *", "60 * * * *"},
		{"3000", ":3000", "127.0.0.1:3000", "[::1]:80", "host:$PORT", ":${PORT}", "0", "a:b:c"},
		{"http://127.0.0.1:$PORT/health", "https://x", "ftp://x", "http://"},
		{"max", "-1", "4", "1025", "-2000"},
		{"SIGTERM", "INT", "9", "SIGRTMIN+3"},
		{"fork", "cluster", "forks"},
	} {
		for _, s := range seeds {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, s string) {
		defer fuzzcheck.PerInput(10 * time.Second)()
		format := valueFormats[int(which)%len(valueFormats)]
		err := checkString(format, s)
		switch format {
		case "size":
			n, perr := ParseSize(s)
			if s != "" && (perr == nil) != (err == nil) {
				t.Fatalf("ParseSize(%q) = %v but checkString says %v", s, perr, err)
			}
			if perr != nil {
				return
			}
			if n < 0 {
				t.Fatalf("ParseSize(%q) = %d", s, n)
			}
			back, err := ParseSize(FormatSize(n))
			if err != nil {
				t.Fatalf("FormatSize(%d) = %q does not read back: %v", n, FormatSize(n), err)
			}
			if diff := math.Abs(float64(back - n)); diff > float64(n)*1e-12 {
				t.Fatalf("ParseSize(FormatSize(%d)) = %d", n, back)
			}
		case "duration":
			d, perr := ParseDuration(s)
			if perr != nil {
				return
			}
			if d < 0 {
				t.Fatalf("ParseDuration(%q) = %v", s, d)
			}
			if back, err := ParseDuration(d.String()); err != nil || back != d {
				t.Fatalf("ParseDuration(%q) = %v, which reads back as %v, %v", s, d, back, err)
			}
		case "cron":
			if err != nil || s == "" {
				return
			}
			if gerr := gocron.NewDefaultCron(true).IsValid(s, time.UTC, time.Now()); gerr != nil {
				t.Fatalf("CheckCron accepts %q, gocron refuses it: %v", s, gerr)
			}
		case "address":
			if err != nil || s == "" {
				return
			}
			a, _ := ParseAddress(s)
			if b, err := ParseAddress(a); err != nil || b != a {
				t.Fatalf("ParseAddress(%q) = %q, which reads back as %q, %v", s, a, b, err)
			}
		case "instances":
			if n, err := parseInstances(s, 4); err == nil && (n < 0 || n > MaxInstances) {
				t.Fatalf("parseInstances(%q) = %d", s, n)
			}
		}
	})
}
