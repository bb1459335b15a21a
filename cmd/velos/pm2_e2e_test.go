package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

// copyForms copies core/pm2/testdata/forms (one set of apps written in
// every form of ecosystem file the PM2 docs show) into a fresh folder.
func copyForms(t *testing.T) string {
	t.Helper()
	src := filepath.Join(testenv.Root(), "core", "pm2", "testdata", "forms")
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// envOf is what `velos env NAME --json` says of the first process of NAME:
// read from the running child itself.
func envOf(t *testing.T, e *testenv.Env, name string) tools.ProcessEnv {
	t.Helper()
	var out tools.EnvOut
	if err := json.Unmarshal([]byte(e.MustRun("env", name, "--json")), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Processes) == 0 {
		t.Fatalf("env %s: no process", name)
	}
	return out.Processes[0]
}

// TestEcosystemFormsStartWithProfile: a PM2 ecosystem file in each format
// starts with --env production, the children see the profile's env, and
// the keys Velos does not support are reported by name on stderr.
func TestEcosystemFormsStartWithProfile(t *testing.T) {
	needNode(t)
	for _, form := range []string{"ecosystem.config.js", "ecosystem.config.cjs", "ecosystem.config.mjs", "ecosystem.json", "ecosystem.yaml"} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			dir := copyForms(t)
			e := testenv.New(t)
			r := e.RunIn(dir, "start", form, "--env", "production")
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			for _, want := range []string{
				"velos: warning: " + form + ": deploy: pm2 deploy is not supported",
				"velos: warning: " + form + ": worker: error_file: not supported",
			} {
				if !strings.Contains(r.Stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
				}
			}
			if strings.Contains(r.Stdout, "warning") {
				t.Errorf("warnings belong on stderr, stdout has: %s", r.Stdout)
			}
			ps := list(t, e)
			if n := len(pids(ps, "http-api")); n != 2 {
				t.Errorf("http-api: %d instances, want 2: %+v", n, ps)
			}
			for _, name := range []string{"http-api", "worker", "checks"} {
				p := find(ps, name)
				if p == nil || p.Status != "online" {
					t.Fatalf("%s: %+v", name, p)
				}
				pe := envOf(t, e, name)
				if pe.Source != "process" || pe.Env["NODE_ENV"] != "production" {
					t.Errorf("%s runs with %+v; want NODE_ENV=production read from the process", name, pe)
				}
			}
		})
	}
}

func TestEcosystemOnlyAndBadFiles(t *testing.T) {
	t.Parallel()
	needNode(t)
	dir := copyForms(t)
	e := testenv.New(t)
	e.RunIn(dir, "start", "ecosystem.yaml", "--only", "worker")
	ps := list(t, e)
	if len(ps) != 1 || ps[0].Name != "worker" {
		t.Fatalf("--only worker started %+v", ps)
	}
	if env := envOf(t, e, "worker"); env.Env["NODE_ENV"] != "development" {
		t.Errorf("without --env the base env applies: %+v", env)
	}
	// A bad value is an error naming the file, the app and the key, and
	// nothing starts.
	os.WriteFile(filepath.Join(dir, "bad.config.js"), []byte(`module.exports = {apps: [
		{name: "ok", script: "apps/worker.js"},
		{name: "api", script: "apps/http.js", max_memory_restart: "lots"}]}`), 0o644)
	r := e.RunIn(dir, "start", "bad.config.js")
	if r.Code != 1 || !strings.Contains(r.Stderr, `bad.config.js: api.max_memory_restart: "lots" is not a size`) {
		t.Errorf("bad value: exit %d %q", r.Code, r.Stderr)
	}
	if ps := list(t, e); len(ps) != 1 {
		t.Errorf("a bad file started something: %+v", ps)
	}
	if r := e.RunIn(dir, "reload", "ecosystem.yaml"); r.Code != 1 || !strings.Contains(r.Stderr, "velos import pm2 ecosystem.yaml") {
		t.Errorf("reload of an ecosystem file: exit %d %q", r.Code, r.Stderr)
	}
	r = e.RunIn(dir, "start", "missing.config.js")
	if r.Code != 1 || !strings.Contains(r.Stderr, "missing.config.js: no such file") {
		t.Errorf("missing file: exit %d %q", r.Code, r.Stderr)
	}
}

// TestImportPM2ThenValidateAndStart: velos import pm2 writes a velos.toml
// that velos config validate accepts and velos start runs, with comments
// for what did not map.
func TestImportPM2ThenValidateAndStart(t *testing.T) {
	t.Parallel()
	needNode(t)
	dir := copyForms(t)
	e := testenv.New(t)
	r := e.RunIn(dir, "import", "pm2", "ecosystem.config.js")
	if r.Code != 0 || !strings.Contains(r.Stdout, "wrote "+filepath.Join(dir, "velos.toml")+": http-api, worker, checks") {
		t.Fatalf("import: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "velos: warning: ecosystem.config.js: worker: error_file: not supported") {
		t.Errorf("import warnings: %s", r.Stderr)
	}
	text, _ := os.ReadFile(filepath.Join(dir, "velos.toml"))
	for _, want := range []string{"# PM2 error_file: not supported", "deploy: pm2 deploy is not supported", "[process.http-api]", `mode = "cluster"`, "[process.http-api.env.production]"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("velos.toml lacks %q:\n%s", want, text)
		}
	}
	if r := e.RunIn(dir, "config", "validate", "velos.toml"); r.Code != 0 {
		t.Fatalf("validate: %s", r.Stderr)
	}
	if r := e.RunIn(dir, "import", "pm2", "ecosystem.config.js"); r.Code != 1 || !strings.Contains(r.Stderr, "exists; add --force") {
		t.Errorf("second import without --force: exit %d %q", r.Code, r.Stderr)
	}
	if r := e.RunIn(dir, "import", "pm2", "ecosystem.yaml", "-o", "-"); r.Code != 0 || !strings.HasPrefix(r.Stdout, "# Imported from") {
		t.Errorf("-o -: exit %d %q", r.Code, r.Stdout)
	}
	if r := e.RunIn(dir, "start", "velos.toml", "--env", "production"); r.Code != 0 {
		t.Fatalf("start the imported file: %s", r.Stderr)
	}
	if env := envOf(t, e, "checks"); env.Env["NODE_ENV"] != "production" {
		t.Errorf("imported profile: %+v", env)
	}
}

// TestImportRealPM2Dump: a dump.pm2 written by a real PM2 (`pm2 save`) is
// imported, validated and started: the cluster's instance count, the
// restart policy, the schedule and the app's own env come across.
func TestImportRealPM2Dump(t *testing.T) {
	t.Parallel()
	pm2 := testenv.PM2(t)
	dir := t.TempDir()
	// A cluster app serves its PORT: both PM2 (Node's cluster module) and
	// Velos (one shared socket) run its two instances on it.
	port := freePort(t)
	os.WriteFile(filepath.Join(dir, "app.js"), []byte(`require("http").createServer((q, s) => s.end("ok")).listen(Number(process.env.PORT))`+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "ecosystem.config.js"), []byte(`module.exports = { apps: [{
		name: "api", script: "./app.js", instances: 2, exec_mode: "cluster", max_memory_restart: "200M",
		env: { GREETING: "dev", PORT: `+port+` }, env_production: { GREETING: "prod" },
	}, {
		name: "worker", script: "sleep", args: "300", interpreter: "none", autorestart: false,
		cron_restart: "0 3 * * *", kill_timeout: 3000,
	}] }`), 0o644)
	home, err := os.MkdirTemp("", "p2") // short: PM2 keeps unix sockets there
	if err != nil {
		t.Fatal(err)
	}
	pm2Env := append(os.Environ(), "PM2_HOME="+home)
	runPM2 := func(args ...string) {
		t.Helper()
		cmd := exec.Command(pm2, args...)
		cmd.Dir, cmd.Env = dir, pm2Env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pm2 %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		cmd := exec.Command(pm2, "kill")
		cmd.Env = pm2Env
		_ = cmd.Run()
		os.RemoveAll(home)
	})
	runPM2("start", "ecosystem.config.js", "--env", "production")
	runPM2("save")
	runPM2("kill")

	e := testenv.New(t)
	out := filepath.Join(dir, "velos.toml")
	// No file: PM2's own dump, found through PM2_HOME as pm2 resurrect would.
	r := runWithEnv(t, e, []string{"PM2_HOME=" + home}, "import", "pm2", "-o", out)
	if r.Code != 0 {
		t.Fatalf("import: exit %d: %s", r.Code, r.Stderr)
	}
	text, _ := os.ReadFile(out)
	t.Logf("velos.toml from a real dump.pm2:\n%s\nwarnings:\n%s", text, r.Stderr)
	for _, want := range []string{"[process.api]", "instances = 2", `mode = "cluster"`, `max_memory = "200M"`, `GREETING = "prod"`,
		"[process.api.env.production]", "[process.worker]", `script = "/`, `autorestart = "never"`, `cron_restart = "0 3 * * *"`, `kill_timeout = "3s"`} {
		if !strings.Contains(string(text), want) {
			t.Errorf("velos.toml lacks %q", want)
		}
	}
	if strings.Contains(string(text), "PM2_HOME") || strings.Contains(string(text), "\nPATH =") || strings.Contains(string(text), "pm_id") {
		t.Error("velos.toml carries PM2's own state or the shell's environment")
	}
	if r := e.Run("config", "validate", out); r.Code != 0 {
		t.Fatalf("validate: %s", r.Stderr)
	}
	e.MustRun("start", out)
	ps := list(t, e)
	if len(pids(ps, "api")) != 2 || find(ps, "worker") == nil || find(ps, "worker").Status != "online" {
		t.Fatalf("started %+v", ps)
	}
	if env := envOf(t, e, "api"); env.Env["GREETING"] != "prod" || env.Env["PORT"] != port {
		t.Errorf("api env %+v", env.Env)
	}
}
