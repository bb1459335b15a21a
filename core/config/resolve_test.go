package config

import (
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/velos-pm/velos/core/supervisor"
)

func TestResolveCommand(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("exec bits and sh are Unix")
	}
	dir := writeFiles(t, map[string]string{
		"api.js": "", "esm.mjs": "", "app.py": "", "run.sh": "", "job.rb": "", "x.pl": "", "i.php": "",
		"server*": "", "data.txt": "", "main.ts": "", "sub/w.js": "",
	})
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	j := func(s string) string { return filepath.Join(dir, s) }
	tests := []struct {
		name string
		p    Process
		want []string
		err  string
	}{
		{"js by extension", Process{Script: "api.js", Args: []string{"--port", "1"}}, []string{"node", j("api.js"), "--port", "1"}, ""},
		{"mjs", Process{Script: "./esm.mjs"}, []string{"node", j("esm.mjs")}, ""},
		{"python with interpreter_args", Process{Script: "app.py", InterpreterArgs: []string{"-u"}}, []string{"python3", "-u", j("app.py")}, ""},
		{"sh → bash", Process{Script: "run.sh"}, []string{"bash", j("run.sh")}, ""},
		{"ruby", Process{Script: "job.rb"}, []string{"ruby", j("job.rb")}, ""},
		{"perl", Process{Script: "x.pl"}, []string{"perl", j("x.pl")}, ""},
		{"php", Process{Script: "i.php"}, []string{"php", j("i.php")}, ""},
		{"relative folder", Process{Script: "sub/w.js"}, []string{"node", j("sub/w.js")}, ""},
		{"absolute path", Process{Script: j("api.js")}, []string{"node", j("api.js")}, ""},
		{"executable runs itself", Process{Script: "server", Args: []string{"-v"}}, []string{j("server"), "-v"}, ""},
		{"explicit interpreter", Process{Script: "main.ts", Interpreter: "deno", InterpreterArgs: []string{"run"}}, []string{"deno", "run", j("main.ts")}, ""},
		{"interpreter none", Process{Script: "server", Interpreter: "none"}, []string{j("server")}, ""},
		{"shell line", Process{Script: "echo hi | cat", Args: []string{"a"}}, []string{"sh", "-c", "echo hi | cat", "web", "a"}, ""},
		{"bare word on PATH", Process{Script: "sh", Args: []string{"-c", "true"}}, []string{sh, "-c", "true"}, ""},
		{"typescript needs interpreter", Process{Script: "main.ts"}, nil, "script: TypeScript needs an interpreter"},
		{"not executable, unknown ext", Process{Script: "data.txt"}, nil, `script: ` + j("data.txt") + ` is not executable and no interpreter is known for ".txt" files`},
		{"missing file", Process{Script: "./gone.js"}, nil, "script: " + j("gone.js") + ": no such file"},
		{"folder", Process{Script: "sub"}, nil, "script: " + j("sub") + " is a folder"},
		{"empty", Process{}, nil, "script: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := Resolve(tt.p, "web", "", dir)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %s…", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(spec.Command, tt.want) {
				t.Errorf("command = %q, want %q", spec.Command, tt.want)
			}
			if spec.Cwd != dir {
				t.Errorf("cwd = %s", spec.Cwd)
			}
		})
	}
}

func TestResolveFields(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"api.js":    "",
		"app/.env":  "# shared\nexport A=file\nB='file b'\nC=\"line\\nbreak\"\nD=x # note\n",
		"app/src/x": "",
	})
	tests := []struct {
		name    string
		p       Process
		profile string
		check   func(t *testing.T, s supervisor.Spec)
		err     string
	}{
		{"relative cwd, env_file and watch paths", Process{Script: "api.js", Cwd: "app", EnvFile: "app/.env", Watch: true, WatchPaths: []string{"app/src"}}, "",
			func(t *testing.T, s supervisor.Spec) {
				if s.Cwd != filepath.Join(dir, "app") || !reflect.DeepEqual(s.Watch, []string{filepath.Join(dir, "app/src")}) {
					t.Errorf("cwd %s watch %v", s.Cwd, s.Watch)
				}
				want := map[string]string{"A": "file", "B": "file b", "C": "line\nbreak", "D": "x"}
				if !reflect.DeepEqual(s.Env, want) {
					t.Errorf("env = %q", s.Env)
				}
			}, ""},
		{"watch without paths watches the cwd", Process{Script: "api.js", Cwd: "app", Watch: true}, "",
			func(t *testing.T, s supervisor.Spec) {
				if !reflect.DeepEqual(s.Watch, []string{filepath.Join(dir, "app")}) {
					t.Errorf("watch %v", s.Watch)
				}
			}, ""},
		{"env over env_file, profile over env", Process{Script: "api.js", EnvFile: "app/.env",
			Env:         map[string]string{"A": "env", "E": "env"},
			EnvProfiles: map[string]map[string]string{"prod": {"E": "prod", "F": "prod"}}}, "prod",
			func(t *testing.T, s supervisor.Spec) {
				want := map[string]string{"A": "env", "B": "file b", "C": "line\nbreak", "D": "x", "E": "prod", "F": "prod"}
				if !reflect.DeepEqual(s.Env, want) {
					t.Errorf("env = %q", s.Env)
				}
			}, ""},
		{"no profile chosen keeps base env", Process{Script: "api.js", Env: map[string]string{"E": "env"},
			EnvProfiles: map[string]map[string]string{"prod": {"E": "prod"}}}, "",
			func(t *testing.T, s supervisor.Spec) {
				if s.Env["E"] != "env" {
					t.Errorf("env = %q", s.Env)
				}
			}, ""},
		{"durations, sizes and counts", Process{Script: "api.js", KillTimeout: "3s", KillSignal: "SIGINT", RestartDelay: "250ms",
			MaxRestartDelay: "10s", RestartFactor: 1.5, MinUptime: "1m", MaxRestarts: 3, RestartWindow: "2m",
			MaxMemory: "1.5G", LogMaxSize: "100K", LogKeep: 4, LogGzip: true, CronRestart: "0 3 * * *",
			WaitReady: true, ListenTimeout: "8s", WatchDebounce: "200ms", Autorestart: "on-failure",
			Instances: "3", Mode: "fork", User: "www", Group: "www"}, "",
			func(t *testing.T, s supervisor.Spec) {
				want := supervisor.Spec{Name: "web", Command: []string{"node", filepath.Join(dir, "api.js")}, Cwd: dir,
					Instances: 3, Autorestart: supervisor.OnFailure, KillTimeout: 3 * time.Second, KillSignal: "SIGINT",
					Backoff:     supervisor.Backoff{Min: 250 * time.Millisecond, Max: 10 * time.Second, Factor: 1.5, MinUptime: time.Minute},
					MaxRestarts: 3, RestartWindow: 2 * time.Minute, MaxMemory: 3 << 29, CronRestart: "0 3 * * *", Mode: "fork",
					WaitReady: true, ListenTimeout: 8 * time.Second, WatchDebounce: 200 * time.Millisecond,
					Log: supervisor.LogOptions{MaxSize: 100 << 10, Keep: 4, Gzip: true}, User: "www", Group: "www"}
				if !reflect.DeepEqual(s, want) {
					t.Errorf("spec =\n%+v\nwant\n%+v", s, want)
				}
			}, ""},
		{"instances max", Process{Script: "api.js", Instances: "max"}, "",
			func(t *testing.T, s supervisor.Spec) {
				if s.Instances != runtime.NumCPU() {
					t.Errorf("instances %d", s.Instances)
				}
			}, ""},
		{"unknown profile", Process{Script: "api.js", EnvProfiles: map[string]map[string]string{"staging": {}}}, "stagign", nil,
			`env: env profile "stagign" is not defined (have: staging); did you mean "staging"?`},
		{"bad flag values all at once", Process{Script: "api.js", MaxMemory: "big", KillTimeout: "-1s", Instances: "-2000"}, "", nil,
			"instances: -2000 is below the limit of -1024\nkill_timeout: \"-1s\" is negative\nmax_memory: \"big\" is not a size (want e.g. \"512M\", \"1G\", \"100K\" or a number of bytes)"},
		{"min delay above max", Process{Script: "api.js", RestartDelay: "5s", MaxRestartDelay: "1s"}, "", nil,
			"restart_delay: 5s is above max_restart_delay 1s"},
		{"missing watch path is indexed", Process{Script: "api.js", Watch: true, WatchPaths: []string{"app", "nope"}}, "", nil,
			"watch_paths[1]: " + filepath.Join(dir, "nope") + ": no such file or folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := Resolve(tt.p, "web", tt.profile, dir)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err =\n%v\nwant\n%s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, spec)
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"512", 512, false}, {"100K", 100 << 10, false}, {"100kb", 100 << 10, false}, {"512M", 512 << 20, false},
		{"512MiB", 512 << 20, false}, {"1G", 1 << 30, false}, {"1.5G", 3 << 29, false}, {"2T", 2 << 40, false},
		{" 1G ", 1 << 30, false}, {"1X", 0, true}, {"", 0, true}, {"G", 0, true}, {"-1G", 0, true}, {"1.2.3M", 0, true},
		{"99999999999T", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v", tt.in, got, err)
		}
	}
	for _, n := range []int64{512, 100 << 10, 3 << 29, 1 << 30} {
		if got, _ := ParseSize(FormatSize(n)); got != n {
			t.Errorf("FormatSize(%d) = %s does not read back", n, FormatSize(n))
		}
	}
}

func TestCheckCron(t *testing.T) {
	for _, ok := range []string{"0 3 * * *", "*/10 * * * * *", "@daily", "@every 1h", "0 0 1 1 MON"} {
		if err := CheckCron(ok); err != nil {
			t.Errorf("CheckCron(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "61 * * * *", "* * *", "0 0 0 0 0 0 0", "@sometimes"} {
		if err := CheckCron(bad); err == nil {
			t.Errorf("CheckCron(%q) accepted", bad)
		}
	}
}

func TestParseEnvErrors(t *testing.T) {
	for in, want := range map[string]string{
		"A=1\nnot a pair\n": `2: "not a pair" is not NAME=VALUE`,
		"1A=x":              `1: "1A=x" is not NAME=VALUE`,
		"A=\"open":          `1: A: unterminated or bad double-quoted value`,
		"A='open":           `1: A: unterminated single-quoted value`,
	} {
		if _, err := ParseEnv([]byte(in)); err == nil || err.Error() != want {
			t.Errorf("ParseEnv(%q) = %v, want %s", in, err, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := keyNames()
	for in, want := range map[string]string{
		"max_memroy": "max_memory", "instance": "instances", "scrpt": "script", "kill_timout": "kill_timeout",
		"watch_ignor": "watch_ignore", "colour": "", "xyz": "",
	} {
		if got := suggest(in, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
