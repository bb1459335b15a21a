package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// specExample is the example of the product spec, verbatim.
const specExample = `[process.api]
script = "./api.js"
instances = 4
mode = "cluster"
max_memory = "1G"
watch = true
watch_ignore = ["node_modules", ".git"]

[process.api.env]
NODE_ENV = "production"
PORT = "3000"

[process.api.env.staging]
NODE_ENV = "staging"
PORT = "3001"
`

// writeFiles creates files (name → content) in a new temp folder. A name
// ending in "*" is made executable (the star is dropped).
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "*") {
			name, mode = strings.TrimSuffix(name, "*"), 0o755
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSpecExampleLoads(t *testing.T) {
	dir := writeFiles(t, map[string]string{"api.js": "", "velos.toml": specExample})
	f, err := Load(filepath.Join(dir, "velos.toml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(f.Processes) != 1 || f.Processes[0].Name != "api" {
		t.Fatalf("processes = %+v", f.Processes)
	}
	e := f.Processes[0]
	want := Process{
		Script:      "./api.js",
		Instances:   "4",
		Mode:        "cluster",
		MaxMemory:   "1G",
		Watch:       true,
		WatchIgnore: []string{"node_modules", ".git"},
		Env:         map[string]string{"NODE_ENV": "production", "PORT": "3000"},
		EnvProfiles: map[string]map[string]string{"staging": {"NODE_ENV": "staging", "PORT": "3001"}},
	}
	if !reflect.DeepEqual(e.Process, want) {
		t.Errorf("process =\n%+v\nwant\n%+v", e.Process, want)
	}
	if e.Pos != (Pos{1, 10}) || e.KeyPos["max_memory"] != (Pos{5, 14}) || e.KeyPos["env.staging.PORT"] != (Pos{15, 8}) {
		t.Errorf("positions: %v %v", e.Pos, e.KeyPos)
	}

	spec, err := Resolve(e.Process, e.Name, "staging", f.Dir)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if spec.Env["PORT"] != "3001" || spec.Env["NODE_ENV"] != "staging" {
		t.Errorf("staging env = %v", spec.Env)
	}
	wantCmd := []string{"node", filepath.Join(dir, "api.js")}
	if !reflect.DeepEqual(spec.Command, wantCmd) || spec.Instances != 4 || spec.Mode != "cluster" ||
		spec.MaxMemory != 1<<30 || !reflect.DeepEqual(spec.Watch, []string{dir}) ||
		!reflect.DeepEqual(spec.WatchIgnore, []string{"node_modules", ".git"}) || spec.Cwd != dir {
		t.Errorf("spec = %+v", spec)
	}
	if err := spec.WithDefaults().Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	specs, err := f.Resolve("")
	if err != nil || specs[0].Env["PORT"] != "3000" {
		t.Errorf("File.Resolve base env: %v %v", specs, err)
	}
	if _, err := f.Resolve("stagin"); err == nil || !strings.Contains(err.Error(), `did you mean "staging"`) {
		t.Errorf("File.Resolve unknown profile: %v", err)
	}
}

func TestBrokenConfigs(t *testing.T) {
	const head = "[process.api]\nscript = \"api.js\"\n"
	tests := []struct {
		name  string
		toml  string
		files map[string]string
		want  []string // "line:col: key: message start"; {dir} is the folder
	}{
		{"unknown key with did-you-mean", head + `max_memroy = "1G"`,
			nil, []string{`3:1: process.api.max_memroy: unknown key (did you mean "max_memory"?)`}},
		{"unknown key far from any", head + `colour = "red"`,
			nil, []string{`3:1: process.api.colour: unknown key`}},
		{"type mismatch", head + `instances = true`,
			nil, []string{`3:13: process.api.instances: want a number or "max", got a boolean (true)`}},
		{"type mismatch int", head + `max_restarts = "ten"`,
			nil, []string{`3:16: process.api.max_restarts: want an integer, got a string ("ten")`}},
		{"bad duration", head + `kill_timeout = "5 seconds"`,
			nil, []string{`3:16: process.api.kill_timeout: "5 seconds" is not a duration`}},
		{"duration as a number", head + `min_uptime = 5000`,
			nil, []string{`3:14: process.api.min_uptime: want a duration string like "5s", got an integer (5000)`}},
		{"bad size", head + `max_memory = "1X"`,
			nil, []string{`3:14: process.api.max_memory: "1X" is not a size`}},
		{"bad cron", head + `cron_restart = "61 * * * *"`,
			nil, []string{`3:16: process.api.cron_restart: "61 * * * *" is not a cron expression`}},
		{"cron that never fires", head + `cron_restart = "0 0 30 2 *"`,
			nil, []string{`3:16: process.api.cron_restart: "0 0 30 2 *" never fires`}},
		{"cron zone alone", head + `cron_restart = "TZ=Europe/Paris"`,
			nil, []string{`3:16: process.api.cron_restart: "TZ=Europe/Paris": a time zone needs a cron expression after it`}},
		{"bad enum", head + `mode = "clustr"`,
			nil, []string{`3:8: process.api.mode: "clustr" is not one of fork, cluster (did you mean "cluster"?)`}},
		{"bad autorestart", head + `autorestart = "sometimes"`,
			nil, []string{`3:15: process.api.autorestart: "sometimes" is not one of always, on-failure, never`}},
		{"bad signal", head + `kill_signal = "SIGFOO"`,
			nil, []string{`3:15: process.api.kill_signal: unknown signal "SIGFOO"`}},
		{"missing script", "[process.api]\ninstances = 2\n",
			nil, []string{`1:10: process.api.script: missing: the program to run`}},
		{"script not found", "[process.api]\nscript = \"./nope.js\"\n",
			nil, []string{`2:10: process.api.script: {dir}/nope.js: no such file`}},
		{"command not on PATH", "[process.api]\nscript = \"velos-no-such-command\"\n",
			nil, []string{`2:10: process.api.script: "velos-no-such-command" is not a file in {dir} nor a command on PATH`}},
		{"typescript without interpreter", "[process.api]\nscript = \"api.ts\"\n",
			map[string]string{"api.ts": ""}, []string{`2:10: process.api.script: TypeScript needs an interpreter`}},
		{"duplicate process name", head + "\n[process.api]\nscript = \"api.js\"\n",
			nil, []string{`4:10: process.api: duplicate process name "api" (first defined at line 1)`}},
		{"key set twice", head + `script = "api.js"`,
			nil, []string{`3:1: process.api.script: set twice (first at line 2)`}},
		{"instances far below zero", head + `instances = -5000`,
			nil, []string{`3:13: process.api.instances: -5000 is below the limit of -1024`}},
		{"negative log_keep", head + `log_keep = -3`,
			nil, []string{`3:12: process.api.log_keep: -3 is negative`}},
		{"restart_factor below 1", head + `restart_factor = 0.5`,
			nil, []string{`3:18: process.api.restart_factor: 0.5 is below 1`}},
		{"bad env_file", head + `env_file = ".env"`,
			map[string]string{".env": "# comment\nGOOD=1\nFOO BAR\n"},
			[]string{`3:12: process.api.env_file: {dir}/.env:3: "FOO BAR" is not NAME=VALUE`}},
		{"missing env_file", head + `env_file = "prod.env"`,
			nil, []string{`3:12: process.api.env_file: {dir}/prod.env: no such file`}},
		{"cwd missing", head + `cwd = "nowhere"`,
			nil, []string{`3:7: process.api.cwd: {dir}/nowhere: no such folder`}},
		{"list given a string", head + "watch = true\nwatch_ignore = \"node_modules\"",
			nil, []string{`4:16: process.api.watch_ignore: want an array of strings, got a string ("node_modules")`}},
		{"list with a number", head + `args = ["--port", 3000]`,
			nil, []string{`3:19: process.api.args: want an array of strings, got an integer (3000) in it`}},
		{"watch path missing", head + "watch = true\nwatch_paths = [\"src\", \"lib\"]",
			map[string]string{"src/x.js": ""}, []string{`4:23: process.api.watch_paths: {dir}/lib: no such file or folder`}},
		{"watch_paths without watch", head + `watch_paths = ["."]`,
			nil, []string{`3:1: process.api.watch_paths: has no effect without watch = true`}},
		{"env value is an array", head + "[process.api.env]\nPORT = [3000]",
			nil, []string{`4:8: process.api.env.PORT: want a string, or a table for an env profile, got an array`}},
		{"env profile value is a table", head + "[process.api.env.staging]\nDB = { host = \"x\" }",
			nil, []string{`4:6: process.api.env.staging.DB: want a string, got a table`}},
		{"syntax error", "[process.api]\nscript = \"api.js\ninstances = 2\n",
			nil, []string{`2:17: syntax error: `}},
		{"syntax error: missing =", "[process.api]\nscript \"api.js\"\n",
			nil, []string{`2:8: syntax error: expected '=' after key`}},
		{"unknown top-level table", "[processes.api]\nscript = \"api.js\"\n",
			nil, []string{`1:2: processes: unknown key (did you mean "process"?)`}},
		{"process is not a table", "process = \"api\"\n",
			nil, []string{`1:11: process: want tables like [process.NAME], got a string ("api")`}},
		{"numeric process name", "[process.123]\nscript = \"api.js\"\n",
			nil, []string{`1:10: process.123: process name "123" is a number`}},
		{"empty file", "# nothing\n",
			nil, []string{`no processes`}},
		{"every problem at once", head + "max_memory = \"lots\"\nkill_timeout = \"soon\"\nmodee = \"fork\"\n\n[process.web]\ninstances = \"many\"\n",
			nil, []string{
				`3:14: process.api.max_memory: "lots" is not a size`,
				`4:16: process.api.kill_timeout: "soon" is not a duration`,
				`5:1: process.api.modee: unknown key (did you mean "mode"?)`,
				`7:10: process.web.script: missing`,
				`8:13: process.web.instances: "many" is not a number or "max"`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"api.js": "", "velos.toml": tt.toml}
			for k, v := range tt.files {
				files[k] = v
			}
			dir := writeFiles(t, files)
			path := filepath.Join(dir, "velos.toml")
			f, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", f.Processes)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not *config.Error: %v", err, err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				w = path + ":" + strings.ReplaceAll(w, "{dir}", dir)
				if strings.HasPrefix(tt.want[i], "no processes") {
					w = path + ": " + tt.want[i]
				}
				if i >= len(lines) || !strings.HasPrefix(lines[i], w) {
					t.Errorf("problem %d:\n got %s\nwant %s…", i, err, w)
				}
			}
		})
	}
}

func TestParseVariants(t *testing.T) {
	dir := writeFiles(t, map[string]string{"api.js": "", "w.py": ""})
	src := `
# dotted keys, inline tables, booleans and integers where strings are usual
process.api.script = "api.js"
process.api.autorestart = false
process.api.instances = "max"

[process.worker]
script = "w.py"
max_memory = 536870912
env = { PORT = 8080, DEBUG = true }
restart_factor = 3

[process.sh]
script = "echo hi && sleep 1"
`
	f, err := Parse(filepath.Join(dir, "velos.toml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range f.Processes {
		names = append(names, e.Name)
	}
	if !reflect.DeepEqual(names, []string{"api", "worker", "sh"}) {
		t.Fatalf("order = %v", names)
	}
	api, _ := f.Lookup("api")
	if api.Process.Autorestart != "never" || api.Process.Instances != "max" {
		t.Errorf("api = %+v", api.Process)
	}
	w, _ := f.Lookup("worker")
	if w.Process.MaxMemory != "536870912" || w.Process.Env["PORT"] != "8080" || w.Process.Env["DEBUG"] != "true" || w.Process.RestartFactor != 3 {
		t.Errorf("worker = %+v", w.Process)
	}
	specs, err := f.Resolve("")
	if err != nil {
		t.Fatal(err)
	}
	if specs[0].Instances != runtime.NumCPU() || specs[1].MaxMemory != 512<<20 {
		t.Errorf("specs = %+v", specs)
	}
	if got := specs[2].Command; !reflect.DeepEqual(got, []string{"sh", "-c", "echo hi && sleep 1", "sh"}) && runtime.GOOS != "windows" {
		t.Errorf("shell line command = %q", got)
	}
}
