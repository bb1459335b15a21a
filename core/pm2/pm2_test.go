package pm2

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/velos-pm/velos/core/config"
)

// schemaKeys are the keys of PM2's lib/API/schema.json (PM2 7.0.4), the
// list PM2 validates an app against, without the env_* pattern.
var schemaKeys = []string{"script", "name", "name_prefix", "filter_env", "namespace", "install_url", "cwd", "args",
	"exec_interpreter", "node_args", "out_file", "error_file", "log_file", "disable_logs", "log_type", "log_date_format",
	"time", "env", "max_memory_restart", "pid_file", "restart_delay", "exp_backoff_restart_delay", "source_map_support",
	"disable_source_map_support", "wait_ready", "instances", "kill_timeout", "shutdown_with_message", "listen_timeout",
	"cron_restart", "merge_logs", "vizion", "autostart", "autorestart", "stop_exit_codes", "watch_delay", "watch",
	"ignore_watch", "watch_options", "min_uptime", "max_restarts", "execute_command", "exec_mode", "force",
	"append_env_to_name", "post_update", "trace", "disable_trace", "v8", "event_loop_inspector", "deep_monitoring",
	"increment_var", "instance_var", "pmx", "automation", "treekill", "port", "username", "uid", "gid", "windowsHide",
	"kill_retry_time", "write", "io"}

// schemaAliases are the aliases the same schema declares.
var schemaAliases = []string{"exec", "interpreter", "interpreterArgs", "interpreter_args", "out", "output", "out_log",
	"error", "err", "err_file", "err_log", "log", "pid", "cron", "combine_logs", "user"}

func canonical(k string) string {
	k = snake(k)
	if c, ok := aliases[k]; ok {
		return c
	}
	return k
}

// TestEveryPM2KeyHasARule: every key and alias of PM2's schema is mapped or
// explained. When PM2 is installed in the test cache (see the e2e tests),
// its own schema.json is read too, so a key PM2 adds is caught.
func TestEveryPM2KeyHasARule(t *testing.T) {
	keys := slices.Concat(schemaKeys, schemaAliases)
	if dir := pm2Module(); dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, "lib", "API", "schema.json"))
		if err != nil {
			t.Fatal(err)
		}
		var schema map[string]struct {
			Alias any `json:"alias"`
		}
		if err := json.Unmarshal(b, &schema); err != nil {
			t.Fatal(err)
		}
		for k, s := range schema {
			if strings.Contains(k, `\`) {
				continue // ^env_\S*$
			}
			keys = append(keys, k)
			switch a := s.Alias.(type) {
			case string:
				keys = append(keys, a)
			case []any:
				for _, x := range a {
					keys = append(keys, x.(string))
				}
			}
		}
		t.Logf("also checked the %d keys of %s", len(schema), dir)
	} else {
		t.Log("PM2 is not in the test cache: checking the built-in copy of its key list only")
	}
	for _, k := range keys {
		r := ruleFor(canonical(k))
		if r == nil {
			t.Errorf("PM2 key %q has no rule", k)
			continue
		}
		if r.Doc == "" {
			t.Errorf("rule %q has no doc", r.Key)
		}
	}
}

// pm2Module is PM2's package folder in the test cache, or "".
func pm2Module() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	p := filepath.Join(dir, "velos-test", "pm2", "node_modules", "pm2")
	if _, err := os.Stat(filepath.Join(p, "package.json")); err != nil {
		return ""
	}
	return p
}

// fixture is a project folder with a script of each kind.
func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"app.js": "setInterval(() => {}, 1000)\n", "bin/www": "require('../app.js')\n", "job.ts": "export {}\n",
		"sub/server.js": "\n", "run.py": "\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestKeys is the mapping, key by key: each case is one PM2 app (JSON) and
// the Velos process it becomes, with the notes it must raise (key →
// whether the user must act).
func TestKeys(t *testing.T) {
	dir := fixture(t)
	base := config.Process{Script: "app.js", KillSignal: "SIGINT"}
	with := func(f func(p *config.Process)) config.Process {
		p := base
		f(&p)
		return p
	}
	cases := []struct {
		name  string
		app   string
		want  config.Process
		as    string          // the process name (default "app")
		notes map[string]bool // key → unsupported
	}{
		{"script alone", `{"script":"app.js"}`, base, "", nil},
		{"exec alias", `{"exec":"app.js"}`, base, "", nil},
		{"cmd alias", `{"cmd":"app.js"}`, base, "", nil},
		{"name", `{"name":"api","script":"app.js"}`, base, "api", nil},
		{"name Velos cannot use", `{"name":"@acme/api server","script":"app.js"}`, base, "acme-api-server", map[string]bool{"name": true}},
		{"numeric name", `{"name":"42","script":"app.js"}`, base, "app-42", map[string]bool{"name": true}},
		{"cwd joins a relative script", `{"script":"server.js","cwd":"sub"}`, with(func(p *config.Process) { p.Script, p.Cwd = "./sub/server.js", "sub" }), "server", nil},
		{"command on PATH", `{"script":"npm","args":"run start"}`, with(func(p *config.Process) { p.Script, p.Args = "npm", []string{"run", "start"} }), "npm", nil},
		{"shell line", `{"script":"python3 -m http.server 8000"}`, with(func(p *config.Process) { p.Script = "python3 -m http.server 8000" }), "python3-m-http.server-8000", nil},
		{"args as PM2 splits them", `{"script":"app.js","args":"--name \"a b\" -x=1 'c d'"}`, with(func(p *config.Process) { p.Args = []string{"--name", "a b", "-x=1", "c d"} }), "", nil},
		{"args list with a number", `{"script":"app.js","args":["--port",8080]}`, with(func(p *config.Process) { p.Args = []string{"--port", "8080"} }), "", nil},
		{"interpreter", `{"script":"run.py","interpreter":"/usr/bin/python3.11"}`, with(func(p *config.Process) { p.Script, p.Interpreter = "run.py", "/usr/bin/python3.11" }), "run", nil},
		{"exec_interpreter none", `{"script":"app.js","exec_interpreter":"none"}`, with(func(p *config.Process) { p.Interpreter = "none" }), "", nil},
		{"node@version", `{"script":"app.js","interpreter":"node@18.0.0"}`, base, "", map[string]bool{"interpreter": true}},
		{"unknown extension runs with node", `{"script":"bin/www"}`, with(func(p *config.Process) { p.Script, p.Interpreter = "bin/www", "node" }), "www", nil},
		{"ts runs with bun", `{"script":"job.ts"}`, with(func(p *config.Process) { p.Script, p.Interpreter = "job.ts", "bun" }), "job", nil},
		{"node_args string", `{"script":"app.js","node_args":"--inspect --max-old-space-size=512"}`, with(func(p *config.Process) { p.InterpreterArgs = []string{"--inspect", "--max-old-space-size=512"} }), "", nil},
		{"interpreter_args list", `{"script":"app.js","interpreter_args":["--inspect"]}`, with(func(p *config.Process) { p.InterpreterArgs = []string{"--inspect"} }), "", nil},
		{"interpreterArgs camelCase", `{"script":"app.js","interpreterArgs":["--inspect"]}`, with(func(p *config.Process) { p.InterpreterArgs = []string{"--inspect"} }), "", nil},
		{"instances and cluster", `{"script":"app.js","instances":4,"exec_mode":"cluster"}`, with(func(p *config.Process) { p.Instances, p.Mode = "4", "cluster" }), "", nil},
		{"instances max", `{"script":"app.js","instances":"max","exec_mode":"cluster_mode"}`, with(func(p *config.Process) { p.Instances, p.Mode = "max", "cluster" }), "", nil},
		{"instances 0 is max", `{"script":"app.js","instances":0,"exec_mode":"fork"}`, with(func(p *config.Process) { p.Instances = "max" }), "", nil},
		{"instances -1", `{"script":"app.js","instances":-1,"exec_mode":"fork"}`, with(func(p *config.Process) { p.Instances = "3" }), "", map[string]bool{"instances": true}},
		{"node app with instances is a cluster", `{"script":"app.js","instances":2}`, with(func(p *config.Process) { p.Instances, p.Mode = "2", "cluster" }), "", nil},
		{"fork_mode", `{"script":"app.js","instances":2,"exec_mode":"fork_mode"}`, with(func(p *config.Process) { p.Instances = "2" }), "", nil},
		{"env", `{"script":"app.js","env":{"PORT":3000,"DEBUG":false,"OPTS":{"a":1},"NAME":"x"}}`, with(func(p *config.Process) {
			p.Env = map[string]string{"PORT": "3000", "DEBUG": "false", "OPTS": `{"a":1}`, "NAME": "x"}
		}), "", nil},
		{"env profiles", `{"script":"app.js","env_production":{"NODE_ENV":"production"},"env_staging":{"PORT":1}}`, with(func(p *config.Process) {
			p.EnvProfiles = map[string]map[string]string{"production": {"NODE_ENV": "production"}, "staging": {"PORT": "1"}}
		}), "", nil},
		{"port", `{"script":"app.js","port":8080,"env":{"PORT":"1"}}`, with(func(p *config.Process) { p.Env = map[string]string{"PORT": "8080"} }), "", nil},
		{"autorestart false", `{"script":"app.js","autorestart":false}`, with(func(p *config.Process) { p.Autorestart = "never" }), "", nil},
		{"autorestart true", `{"script":"app.js","autorestart":true}`, base, "", nil},
		{"stop_exit_codes [0]", `{"script":"app.js","stop_exit_codes":[0]}`, with(func(p *config.Process) { p.Autorestart = "on-failure" }), "", nil},
		{"stop_exit_codes 0", `{"script":"app.js","stop_exit_codes":0}`, with(func(p *config.Process) { p.Autorestart = "on-failure" }), "", nil},
		{"stop_exit_codes [0,3]", `{"script":"app.js","stop_exit_codes":[0,3]}`, with(func(p *config.Process) { p.Autorestart = "on-failure" }), "", map[string]bool{"stop_exit_codes": true}},
		{"stop_exit_codes [3]", `{"script":"app.js","stop_exit_codes":[3]}`, base, "", map[string]bool{"stop_exit_codes": true}},
		{"max_restarts", `{"script":"app.js","max_restarts":5}`, with(func(p *config.Process) { p.MaxRestarts = 5 }), "", nil},
		{"max_restarts 0", `{"script":"app.js","max_restarts":0}`, base, "", map[string]bool{"max_restarts": true}},
		{"min_uptime ms", `{"script":"app.js","min_uptime":2000}`, with(func(p *config.Process) { p.MinUptime = "2s" }), "", nil},
		{"min_uptime with unit", `{"script":"app.js","min_uptime":"1m"}`, with(func(p *config.Process) { p.MinUptime = "1m" }), "", nil},
		{"restart_delay", `{"script":"app.js","restart_delay":3000}`, with(func(p *config.Process) { p.RestartDelay, p.MaxRestartDelay, p.RestartFactor = "3s", "3s", 1 }), "", nil},
		{"exp_backoff_restart_delay", `{"script":"app.js","exp_backoff_restart_delay":100}`, with(func(p *config.Process) { p.RestartDelay, p.MaxRestartDelay, p.RestartFactor = "100ms", "15s", 1.5 }), "", nil},
		{"exp backoff wins", `{"script":"app.js","exp_backoff_restart_delay":100,"restart_delay":3000}`, with(func(p *config.Process) { p.RestartDelay, p.MaxRestartDelay, p.RestartFactor = "100ms", "15s", 1.5 }), "", map[string]bool{"restart_delay": false}},
		{"kill_timeout", `{"script":"app.js","kill_timeout":1600}`, with(func(p *config.Process) { p.KillTimeout = "1600ms" }), "", nil},
		{"kill_timeout as text", `{"script":"app.js","kill_timeout":"3000"}`, with(func(p *config.Process) { p.KillTimeout = "3s" }), "", nil},
		{"wait_ready and listen_timeout", `{"script":"app.js","wait_ready":true,"listen_timeout":10000}`, with(func(p *config.Process) { p.WaitReady, p.ListenTimeout = true, "10s" }), "", nil},
		{"shutdown_with_message", `{"script":"app.js","shutdown_with_message":true}`, base, "", map[string]bool{"shutdown_with_message": true}},
		{"max_memory_restart", `{"script":"app.js","max_memory_restart":"200M"}`, with(func(p *config.Process) { p.MaxMemory = "200M" }), "", nil},
		{"max_memory_restart bytes", `{"script":"app.js","max_memory_restart":209715200}`, with(func(p *config.Process) { p.MaxMemory = "200M" }), "", nil},
		{"maxMemoryRestart camelCase", `{"script":"app.js","maxMemoryRestart":"1G"}`, with(func(p *config.Process) { p.MaxMemory = "1G" }), "", nil},
		{"cron_restart", `{"script":"app.js","cron_restart":"0 3 * * *"}`, with(func(p *config.Process) { p.CronRestart = "0 3 * * *" }), "", nil},
		{"cron alias with seconds", `{"script":"app.js","cron":"*/30 * * * * *"}`, with(func(p *config.Process) { p.CronRestart = "*/30 * * * * *" }), "", nil},
		{"cron_restart 0 is off", `{"script":"app.js","cron_restart":0}`, base, "", nil},
		{"watch true", `{"script":"app.js","watch":true,"ignore_watch":["node_modules","*.log"],"watch_delay":500}`, with(func(p *config.Process) {
			p.Watch, p.WatchIgnore, p.WatchDebounce = true, []string{"node_modules", "*.log"}, "500ms"
		}), "", nil},
		{"watch paths under cwd", `{"script":"server.js","cwd":"sub","watch":["."]}`, with(func(p *config.Process) {
			p.Script, p.Cwd, p.Watch, p.WatchPaths = "./sub/server.js", "sub", true, []string{"sub"}
		}), "server", nil},
		{"watch a string", `{"script":"app.js","watch":"."}`, with(func(p *config.Process) { p.Watch, p.WatchPaths = true, []string{"."} }), "", nil},
		{"ignore_watch regex", `{"script":"app.js","watch":true,"ignore_watch":"[\\/\\\\]\\./"}`, with(func(p *config.Process) { p.Watch, p.WatchIgnore = true, []string{`[\/\\]\./`} }), "", map[string]bool{"ignore_watch": true}},
		{"ignore_watch without watch", `{"script":"app.js","ignore_watch":["node_modules"]}`, base, "", map[string]bool{"ignore_watch": false}},
		{"watch_options", `{"script":"app.js","watch":true,"watch_options":{"usePolling":true}}`, with(func(p *config.Process) { p.Watch = true }), "", map[string]bool{"watch_options": true}},
		{"user and gid", `{"script":"app.js","user":"www","gid":33}`, with(func(p *config.Process) { p.User, p.Group = "www", "33" }), "", nil},
		{"uid alias", `{"script":"app.js","uid":1000}`, with(func(p *config.Process) { p.User = "1000" }), "", nil},
		{"namespace default", `{"script":"app.js","namespace":"default"}`, base, "", nil},
		{"namespace", `{"script":"app.js","namespace":"billing"}`, base, "", map[string]bool{"namespace": true}},
		{"autostart false", `{"script":"app.js","autostart":false}`, base, "", map[string]bool{"autostart": true}},
		{"log files", `{"script":"app.js","out_file":"out.log","error_file":"/dev/null","log_file":true,"pid_file":"app.pid","merge_logs":true,"time":true}`, base, "",
			map[string]bool{"out_file": true, "error_file": true, "log_file": true, "pid_file": true, "merge_logs": false, "time": false}},
		{"log aliases", `{"script":"app.js","out":"o.log","err":"e.log","log":"l.log","pid":"p.pid","combine_logs":true}`, base, "",
			map[string]bool{"out": true, "err": true, "log": true, "pid": true, "combine_logs": false}},
		{"log settings", `{"script":"app.js","log_date_format":"YYYY-MM-DD","log_type":"json","disable_logs":true}`, base, "",
			map[string]bool{"log_date_format": true, "log_type": true, "disable_logs": true}},
		{"instance keys", `{"script":"app.js","increment_var":"PORT","instance_var":"INSTANCE_ID"}`, base, "", map[string]bool{"increment_var": true, "instance_var": true}},
		{"filter_env", `{"script":"app.js","filter_env":["SECRET_"]}`, base, "", map[string]bool{"filter_env": true}},
		{"treekill false", `{"script":"app.js","treekill":false}`, base, "", map[string]bool{"treekill": true}},
		{"force and names", `{"script":"app.js","force":true,"append_env_to_name":true,"name_prefix":"x"}`, base, "", map[string]bool{"force": true, "append_env_to_name": true, "name_prefix": true}},
		{"source maps", `{"script":"app.js","source_map_support":true,"disable_source_map_support":true}`, base, "", map[string]bool{"source_map_support": true, "disable_source_map_support": false}},
		{"PM2.io on", `{"script":"app.js","trace":true,"deep_monitoring":true,"v8":true,"event_loop_inspector":true,"io":{"conf":{}},"post_update":["npm i"],"install_url":"x"}`, base, "",
			map[string]bool{"trace": true, "deep_monitoring": true, "v8": true, "event_loop_inspector": true, "io": true, "post_update": true, "install_url": true}},
		{"PM2 internals", `{"script":"app.js","vizion":false,"pmx":false,"automation":false,"windowsHide":true,"kill_retry_time":100,"execute_command":true,"write":true,"username":"root","disable_trace":true,"trace":false}`, base, "",
			map[string]bool{"vizion": false, "pmx": false, "automation": false, "windowsHide": false, "kill_retry_time": false, "execute_command": false, "write": false, "username": false, "disable_trace": false, "trace": false}},
		{"unknown key", `{"script":"app.js","restart_on_crash":true}`, base, "", map[string]bool{"restart_on_crash": true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(filepath.Join(dir, "ecosystem.json"), []byte(`{"apps":[`+c.app+`]}`), Options{CPUs: 4})
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Apps) != 1 {
				t.Fatalf("apps: %+v", f.Apps)
			}
			as := c.as
			if as == "" {
				as = "app"
			}
			if got := f.Apps[0]; got.Name != as || !reflect.DeepEqual(got.Process, c.want) {
				t.Errorf("got %s %+v\nwant %s %+v", got.Name, got.Process, as, c.want)
			}
			got := map[string]bool{}
			for _, n := range f.Notes {
				got[n.Key] = n.Unsupported
				if n.App != as {
					t.Errorf("note %v names app %q", n, n.App)
				}
			}
			if c.notes == nil {
				c.notes = map[string]bool{}
			}
			if !reflect.DeepEqual(got, c.notes) {
				t.Errorf("notes %v, want %v", f.Notes, c.notes)
			}
			// What a file maps to is what velos.toml accepts.
			if _, err := config.Resolve(c.want, as, "", dir); err != nil && !strings.Contains(err.Error(), "not a file in") {
				t.Logf("resolve: %v", err)
			}
		})
	}
}

// TestBadValuesNameFileAppAndKey: a value PM2 would refuse is an error that
// says where, and every such value is reported at once.
func TestBadValuesNameFileAppAndKey(t *testing.T) {
	dir := fixture(t)
	_, err := Parse(filepath.Join(dir, "ecosystem.json"), []byte(`{"apps":[
		{"name":"api","script":"app.js","max_memory_restart":"lots","kill_timeout":"soon"},
		{"name":"cron","script":"app.js","cron_restart":"every day"},
		{"script":"app.js","exec_mode":"swarm"},
		{"name":"api","script":"app.js"},
		"app.js"]}`), Options{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`ecosystem.json: api.max_memory_restart: "lots" is not a size`,
		`ecosystem.json: api.kill_timeout: want milliseconds`,
		`ecosystem.json: cron.cron_restart: "every day" is not a cron expression`,
		`ecosystem.json: app.exec_mode: want "fork" or "cluster"`,
		`ecosystem.json: apps[4]: want an object`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := Parse(filepath.Join(dir, "ecosystem.json"), []byte(`{"apps":[{"name":"a","script":"app.js"},{"name":"a","script":"app.js"}]}`), Options{}); err == nil || !strings.Contains(err.Error(), "both named") {
		t.Errorf("duplicate names: %v", err)
	}
	for _, bad := range []string{`[]`, `{"apps":[]}`, `42`, `{"apps":[{"name":"x"}]}`} {
		if _, err := Parse(filepath.Join(dir, "ecosystem.json"), []byte(bad), Options{}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if _, err := Parse(filepath.Join(dir, "ecosystem.json"), []byte("{\n\"apps\": [\n}"), Options{}); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("syntax error without its line: %v", err)
	}
}

// TestForms reads the same apps from every form the PM2 docs show and gets
// the same processes, with --env production's profile and the deploy
// section noted.
func TestForms(t *testing.T) {
	node, _ := exec.LookPath("node")
	var want []config.Entry
	for _, name := range []string{"ecosystem.json", "ecosystem.yaml", "ecosystem.config.js", "ecosystem.config.cjs", "ecosystem.config.mjs", "ecosystem.json5.json"} {
		t.Run(name, func(t *testing.T) {
			if node == "" && (strings.HasSuffix(name, "js") || strings.Contains(name, "json5")) {
				t.Skip("node is not installed: JavaScript ecosystem files cannot be read")
			}
			f, err := Load(context.Background(), filepath.Join("testdata", "forms", name), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range f.Apps {
				names = append(names, e.Name)
			}
			if !slices.Equal(names, []string{"http-api", "worker", "checks"}) {
				t.Fatalf("apps %v", names)
			}
			api := f.Apps[0].Process
			if api.Mode != "cluster" || api.Instances != "2" || api.MaxMemory != "260M" || api.EnvProfiles["production"]["NODE_ENV"] != "production" || api.Env["NODE_ENV"] != "development" {
				t.Errorf("http-api: %+v", api)
			}
			joined := strings.Join(f.Warnings(), "\n")
			if !strings.Contains(joined, name+": deploy: pm2 deploy is not supported") || !strings.Contains(joined, "worker: error_file: not supported") {
				t.Errorf("warnings:\n%s", joined)
			}
			if want == nil {
				want = f.Apps
			} else if !reflect.DeepEqual(f.Apps, want) {
				t.Errorf("%s reads differently from ecosystem.json:\n%+v\n%+v", name, f.Apps, want)
			}
			// Every form resolves as a velos.toml would, with the profile.
			cf := &config.File{Path: f.Path, Dir: f.Dir, Processes: f.Apps}
			specs, err := cf.Resolve("production")
			if err != nil {
				t.Fatal(err)
			}
			if specs[2].Env["NODE_ENV"] != "production" || specs[1].Env["NODE_ENV"] != "production" {
				t.Errorf("profile not applied: %+v", specs)
			}
		})
	}
}

func TestJavaScriptErrors(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "ecosystem.config.js")
	os.WriteFile(bad, []byte("module.exports = { apps: [ { name: 'x', script: 'a.js' ]\n"), 0o644)
	_, err := Load(context.Background(), bad, Options{})
	if err == nil || !strings.Contains(err.Error(), "node could not read it") || !strings.Contains(err.Error(), "SyntaxError") {
		t.Fatalf("syntax error: %v", err)
	}
	_, err = Load(context.Background(), bad, Options{Node: filepath.Join(dir, "no-node")})
	if err == nil {
		t.Fatal("missing node: no error")
	}
	// process.cwd() inside the file is the caller's folder, as under PM2.
	os.WriteFile(bad, []byte("module.exports = { apps: [{ name: 'x', script: 'a.js', env: { FROM: process.cwd() } }] }\n"), 0o644)
	f, err := Load(context.Background(), bad, Options{Cwd: os.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Apps[0].Process.Env["FROM"]; got != filepath.Clean(os.TempDir()) {
		t.Errorf("process.cwd() = %q", got)
	}
}

func TestJavaScriptWithoutNode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ecosystem.config.js")
	os.WriteFile(p, []byte("module.exports = {apps: []}\n"), 0o644)
	t.Setenv("PATH", dir)
	_, err := Load(context.Background(), p, Options{})
	if err == nil || !strings.Contains(err.Error(), "node is not on PATH") || !strings.Contains(err.Error(), "ecosystem.json") {
		t.Fatalf("want a clear error naming node: %v", err)
	}
}

func TestIsFile(t *testing.T) {
	for name, want := range map[string]bool{
		"ecosystem.config.js": true, "pm2.prod.config.js": true, "a/process.config.cjs": true, "x.config.mjs": true,
		"ecosystem.json": true, "process.yml": true, "apps.yaml": true, "/root/.pm2/dump.pm2": true, "dump.pm2.bak": true,
		"app.js": false, "velos.toml": false, "server.mjs": false, "config.js": false,
	} {
		if IsFile(name) != want {
			t.Errorf("IsFile(%q) = %v", name, !want)
		}
	}
}

func TestTOMLRoundTrip(t *testing.T) {
	dir := fixture(t)
	f, err := Parse(filepath.Join(dir, "ecosystem.json"), []byte(`{"apps":[
		{"name":"api","script":"server.js","cwd":"sub","instances":2,"env":{"PORT":3000},"env_production":{"NODE_ENV":"production"},"out_file":"api.log","vizion":false},
		{"name":"www","script":"bin/www","watch":["bin"]}],
		"deploy":{"production":{}}}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{filepath.Join(dir, "velos.toml"), filepath.Join(dir, "deploy", "velos.toml")} {
		text := f.TOML(out)
		for _, want := range []string{"# Imported from " + filepath.Join(dir, "ecosystem.json"), "# PM2 out_file: not supported", "api: vizion: a PM2 internal",
			"deploy: pm2 deploy is not supported", "[process.api]", `kill_signal = "SIGINT"`, "[process.api.env.production]"} {
			if !strings.Contains(string(text), want) {
				t.Errorf("%s lacks %q:\n%s", out, want, text)
			}
		}
		os.MkdirAll(filepath.Dir(out), 0o755)
		os.WriteFile(out, text, 0o644)
		cf, err := config.Load(out)
		if err != nil {
			t.Fatalf("%s does not load:\n%s\n%v", out, text, err)
		}
		specs, err := cf.Resolve("production")
		if err != nil {
			t.Fatal(err)
		}
		if specs[0].Command[1] != filepath.Join(dir, "sub", "server.js") || specs[0].Cwd != filepath.Join(dir, "sub") || specs[0].Env["NODE_ENV"] != "production" {
			t.Errorf("%s: api resolves to %+v", out, specs[0])
		}
		if specs[1].Command[0] != "node" || specs[1].Watch[0] != filepath.Join(dir, "bin") {
			t.Errorf("%s: www resolves to %+v", out, specs[1])
		}
	}
}

func TestSnakeAndNames(t *testing.T) {
	for in, want := range map[string]string{"maxMemoryRestart": "max_memory_restart", "windowsHide": "windows_hide", "env_Production": "env_Production", "script": "script"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q", in, got)
		}
	}
	for in, want := range map[string]string{"api": "api", "my app": "my-app", "@scope/pkg": "scope-pkg", "all": "app-all", "7": "app-7", "a:b": "a-b", "---": "app", "_x_": "x"} {
		if got := processName(in); got != want {
			t.Errorf("processName(%q) = %q, want %q", in, got, want)
		}
	}
	if runtime.GOOS == "windows" {
		t.Skip()
	}
}
