package export

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/velos-pm/velos/core/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// cases are the configs every target is tested on: the product's example
// and two more, a cluster app with a port and readiness, and a worker with
// cron and max_memory.
var cases = []struct{ name, config string }{
	{"example", "../../examples/velos.toml"},
	{"cluster", "testdata/cluster/velos.toml"},
	{"worker", "testdata/worker/velos.toml"},
}

// options are the golden tests' options: a fixed CPU count and, for
// systemd, a fixed app folder, so the output does not depend on the machine
// or the checkout's path. The worker case has CronJobs on.
func options(name, target string) Options {
	o := Options{Target: target, CPUs: 4}
	if target == Systemd {
		o.AppDir = "/srv/" + name
	}
	if name == "worker" && target == Kubernetes {
		o.CronJobs = true
	}
	return o
}

func exportCase(t *testing.T, name, cfg, target string, o Options) Result {
	t.Helper()
	f, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Export(f, o)
	if err != nil {
		t.Fatalf("%s %s: %v", name, target, err)
	}
	return r
}

// golden compares got with testdata/golden/NAME, or rewrites it with -update
// (never creating a missing one under CI).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	want, err := os.ReadFile(path)
	if *update {
		if err != nil && os.Getenv("CI") != "" {
			t.Fatalf("%s is missing; not creating it under CI: run go test ./core/export -update and commit", path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%v (run go test ./core/export -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test ./core/export -update rewrites it); got:\n%s", path, got)
	}
}

func TestGolden(t *testing.T) {
	for _, c := range cases {
		for _, target := range Targets {
			t.Run(c.name+"/"+target, func(t *testing.T) {
				r := exportCase(t, c.name, c.config, target, options(c.name, target))
				golden(t, c.name+"."+target, r.Stream())
			})
		}
	}
}

// TestEveryKeyIsDecided: each key a config can set is either mapped by a
// target or named in a note; setting a key must change the output or add
// a note, for every target. A key added to config.Process without a
// decision here fails.
func TestEveryKeyIsDecided(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"app.js", "other.js", "a.env"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("X=1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	// One value per key, different from the default.
	values := map[string]string{
		"script": `"./other.js"`, "args": `["--x"]`, "cwd": `"sub"`, "interpreter": `"bun"`,
		"interpreter_args": `["--inspect"]`, "instances": `3`, "mode": `"cluster"`, "env_file": `"a.env"`,
		"autorestart": `"never"`, "restart_delay": `"1s"`, "max_restart_delay": `"9s"`, "restart_factor": `3`,
		"min_uptime": `"9s"`, "max_restarts": `3`, "restart_window": `"9m"`, "kill_timeout": `"9s"`,
		"kill_signal": `"SIGINT"`, "max_memory": `"1G"`, "cron_restart": `"0 4 * * *"`, "listen": `"4000"`,
		"balance": `"least-conn"`, "wait_ready": `true`, "ready_tcp": `"127.0.0.1:$PORT"`,
		"ready_http": `"http://127.0.0.1:$PORT/up"`, "listen_timeout": `"9s"`, "watchdog": `"9s"`,
		"watch": `true`, "watch_paths": `["."]`, "watch_ignore": `["x"]`, "watch_debounce": `"9s"`,
		"log_max_size": `"9M"`, "log_keep": `9`, "log_gzip": `true`, "user": `"u"`, "group": `"g"`,
	}
	// Keys only meaningful with another one set.
	with := map[string]string{
		"mode": `env = { PORT = "4000" }`, "balance": `listen = "4000"` + "\ninstances = 2",
		"watch_paths": "watch = true", "watch_ignore": "watch = true", "watch_debounce": "watch = true",
		"listen_timeout": `ready_tcp = "127.0.0.1:4000"`, "ready_tcp": "listen = \"4000\"\nbalance = \"round-robin\"", "ready_http": "listen = \"4000\"\nbalance = \"round-robin\"",
		"log_keep": `log_max_size = "9M"`, "log_gzip": `log_max_size = "9M"`,
	}
	// Keys that change nothing in the output by design, with the reason.
	silent := map[string]map[string]string{
		// watch is noted; where to watch adds nothing to that note.
		"watch_ignore":   {Kubernetes: "", Systemd: "", Compose: ""},
		"watch_debounce": {Kubernetes: "", Systemd: "", Compose: ""},
		// The kubelet and Docker always restart; autorestart = never is noted
		// elsewhere: a Deployment has one behaviour.
	}
	for _, k := range config.Keys() {
		if k.Name == "env" {
			continue
		}
		v, ok := values[k.Name]
		if !ok {
			t.Errorf("key %s: no test value (decide how export maps it)", k.Name)
			continue
		}
		base := "[process.app]\nscript = \"./app.js\"\n" + with[k.Name] + "\n"
		for _, target := range Targets {
			if _, ok := silent[k.Name][target]; ok {
				continue
			}
			a := exportText(t, dir, base, target)
			changed := base + k.Name + " = " + v + "\n"
			if k.Name == "script" {
				changed = strings.Replace(base, `"./app.js"`, v, 1)
			}
			b := exportText(t, dir, changed, target)
			if a == b {
				t.Errorf("%s: setting %s = %s changes nothing and adds no note", target, k.Name, v)
			}
		}
	}
}

func exportText(t *testing.T, dir, toml, target string) string {
	t.Helper()
	path := filepath.Join(dir, "velos.toml")
	f, err := config.Parse(path, []byte(toml))
	if err != nil {
		t.Fatalf("%s\n%v", toml, err)
	}
	r, err := Export(f, Options{Target: target, CPUs: 2})
	if err != nil {
		t.Fatalf("%s: %s\n%v", target, toml, err)
	}
	var b strings.Builder
	b.WriteString(r.Stream())
	for _, n := range r.Notes {
		b.WriteString(n.Key + n.Value + n.Done + "\n")
	}
	return b.String()
}

func TestSecretsFollowTheRedactionRules(t *testing.T) {
	for _, c := range []struct {
		k, v   string
		secret bool
	}{
		{"PORT", "3000", false},
		{"NODE_ENV", "production", false},
		{"AUTHOR", "someone", false},
		{"API_TOKEN", "abc", true},
		{"DB_PASSWORD", "x", true},
		{"DATABASE_URL", "postgres://u:hunter2@db/app", true},
		{"GITHUB", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", true},
	} {
		if got := Secret(c.k, c.v); got != c.secret {
			t.Errorf("Secret(%s=%s) = %v, want %v", c.k, c.v, got, c.secret)
		}
	}
}

func TestBadInput(t *testing.T) {
	f, err := config.Load("testdata/cluster/velos.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Target: "nomad"}, `unknown target "nomad"`},
		{Options{}, "name a target"},
		{Options{Target: Kubernetes, Profile: "prod"}, `env profile "prod" is not defined (have: staging)`},
		{Options{Target: Systemd, AppDir: "srv"}, "not an absolute path"},
		{Options{Target: Compose, CronJobs: true}, "Kubernetes option"},
	} {
		if _, err := Export(f, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.o, err, c.want)
		}
	}
	// Two names that become the same Kubernetes name.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.js"), nil, 0o644)
	g, err := config.Parse(filepath.Join(dir, "velos.toml"), []byte("[process.Web_1]\nscript = \"a.js\"\n[process.web-1]\nscript = \"a.js\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Export(g, Options{Target: Kubernetes}); err == nil || !strings.Contains(err.Error(), `both become the Kubernetes name "web-1"`) {
		t.Errorf("name clash: %v", err)
	}
	// A missing script fails as velos start would, with the file and key.
	h, err := config.Parse(filepath.Join(dir, "velos.toml"), []byte("[process.web]\nscript = \"a.js\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "a.js"))
	if _, err := Export(h, Options{Target: Systemd}); err == nil || !strings.Contains(err.Error(), "process.web.script") {
		t.Errorf("missing script: %v", err)
	}
}

func TestProfileAndPaths(t *testing.T) {
	r := exportCase(t, "example", "../../examples/velos.toml", Kubernetes, Options{Target: Kubernetes, Profile: "staging", Image: "ghcr.io/acme/app:1.2", AppDir: "/srv/app"})
	s := r.Stream()
	for _, want := range []string{`PORT: "3001"`, "containerPort: 3001", "image: ghcr.io/acme/app:1.2", "- /srv/app/web.js", "workingDir: /srv/app"} {
		if !strings.Contains(s, want) {
			t.Errorf("staging export lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "placeholder") {
		t.Error("an export with --image still says the image is a placeholder")
	}
	// systemd runs on this machine by default: the config's own folder.
	abs, _ := filepath.Abs("../../examples")
	r = exportCase(t, "example", "../../examples/velos.toml", Systemd, Options{Target: Systemd})
	if s := r.Stream(); !strings.Contains(s, "ExecStart=node "+abs+"/web.js") || !strings.Contains(s, "WorkingDirectory="+abs+"\n") {
		t.Errorf("systemd default app dir is not the config's folder %s:\n%s", abs, s)
	}
}
