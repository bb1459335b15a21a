package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/google/jsonschema-go/jsonschema"
)

// TestSetKeySameMessageAsFile checks that config_set and a file reject a bad
// value with the same words.
func TestSetKeySameMessageAsFile(t *testing.T) {
	tests := []struct {
		key, text, toml string // toml: the same value as written in a file
	}{
		{"max_memory", "1X", `"1X"`},
		{"kill_timeout", "5 seconds", `"5 seconds"`},
		{"cron_restart", "61 * * * *", `"61 * * * *"`},
		{"mode", "clustr", `"clustr"`},
		{"autorestart", "sometimes", `"sometimes"`},
		{"kill_signal", "SIGFOO", `"SIGFOO"`},
		{"instances", "-2000", `-2000`},
		{"instances", "lots", `"lots"`},
		{"max_restarts", "ten", `"ten"`},
		{"log_keep", "-2", `-2`},
		{"restart_factor", "0.5", `0.5`},
		{"wait_ready", "maybe", `"maybe"`},
		{"args", `["a", 2]`, `["a", 2]`},
		{"max_memroy", "1G", `"1G"`},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.text, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"api.js": ""})
			_, ferr := Parse(filepath.Join(dir, "velos.toml"), []byte("[process.api]\nscript = \"api.js\"\n"+tt.key+" = "+tt.toml+"\n"))
			var ce *Error
			if !errors.As(ferr, &ce) || len(ce.Problems) != 1 {
				t.Fatalf("file error = %v", ferr)
			}
			p := Process{Script: "api.js", MaxMemory: "2G"}
			before := p
			err := SetKey(&p, tt.key, tt.text)
			var sp *Problem
			if !errors.As(err, &sp) {
				t.Fatalf("SetKey error = %v (%T)", err, err)
			}
			if sp.Msg != ce.Problems[0].Msg || sp.Key != tt.key {
				t.Errorf("SetKey: %s\n file: %s", err, ce.Problems[0].Msg)
			}
			if !strings.HasSuffix(ferr.Error(), "process.api."+err.Error()) {
				t.Errorf("file line %q does not end with %q", ferr, err)
			}
			if !reflect.DeepEqual(p, before) {
				t.Errorf("failed SetKey changed the process: %+v", p)
			}
		})
	}
}

func TestSetGetKey(t *testing.T) {
	orig := Process{Script: "api.js", Env: map[string]string{"A": "1"}, EnvProfiles: map[string]map[string]string{"prod": {"A": "2"}}}
	p := orig
	sets := [][2]string{
		{"instances", "4"}, {"instances", "max"}, {"watch", "true"}, {"watch_ignore", "node_modules, .git"},
		{"args", `["--port", "3000"]`}, {"max_memory", "1G"}, {"restart_factor", "1.5"}, {"max_restarts", "7"},
		{"script", `"server.js"`}, {"env.PORT", "3000"}, {"env.staging.PORT", "3001"}, {"env.prod.A", ""},
		{"cron_restart", "0 3 * * *"}, {"kill_signal", "TERM"},
	}
	for _, s := range sets {
		if err := SetKey(&p, s[0], s[1]); err != nil {
			t.Fatalf("SetKey(%s, %s): %v", s[0], s[1], err)
		}
	}
	want := map[string]any{
		"instances": "max", "watch": true, "watch_ignore": []string{"node_modules", ".git"},
		"args": []string{"--port", "3000"}, "max_memory": "1G", "restart_factor": 1.5, "max_restarts": 7,
		"script": "server.js", "env.PORT": "3000", "env.staging.PORT": "3001", "env.A": "1",
		"env.staging": map[string]string{"PORT": "3001"}, "cron_restart": "0 3 * * *", "kill_signal": "TERM",
	}
	for k, w := range want {
		got, err := GetKey(p, k)
		if err != nil || !reflect.DeepEqual(got, w) {
			t.Errorf("GetKey(%s) = %#v, %v; want %#v", k, got, err, w)
		}
	}
	if _, ok := p.EnvProfiles["prod"]; ok {
		t.Errorf("emptied profile kept: %v", p.EnvProfiles)
	}
	if orig.Env["PORT"] != "" || orig.EnvProfiles["prod"]["A"] != "2" || len(orig.EnvProfiles) != 1 {
		t.Errorf("SetKey changed maps shared with the original: %+v", orig)
	}
	if err := SetKey(&p, "max_memory", ""); err != nil || p.MaxMemory != "" {
		t.Errorf("clearing: %v %q", err, p.MaxMemory)
	}
	if _, err := GetKey(p, "max_memroy"); err == nil || !strings.Contains(err.Error(), `did you mean "max_memory"`) {
		t.Errorf("GetKey unknown: %v", err)
	}
	if err := SetKey(&p, "env.A.B", "x"); err == nil {
		t.Errorf("env.A.B accepted though env.A is a variable")
	}
	if err := SetKey(&p, "env.staging", "x"); err == nil {
		t.Errorf("env.staging accepted though it is a profile")
	}
	if len(Keys()) < 30 {
		t.Errorf("Keys() = %d keys", len(Keys()))
	}
}

func TestFormatRoundTrip(t *testing.T) {
	dir := writeFiles(t, map[string]string{"api.js": "", "w.py": ""})
	in := []Entry{
		{Name: "api", Process: Process{Script: "api.js", Args: []string{"--a", `quote " and \ back`}, Instances: "4",
			Mode: "cluster", Listen: "3000", MaxMemory: "1G", Watch: true, WatchIgnore: []string{"node_modules"}, RestartFactor: 2.5,
			MaxRestarts: 3, Autorestart: "on-failure", LogGzip: true, CronRestart: "0 3 * * *",
			Env:         map[string]string{"NODE_ENV": "production", "weird.name": "tab\there\nnl"},
			EnvProfiles: map[string]map[string]string{"staging": {"PORT": "3001"}, "my prof": {"X": "1"}}}},
		{Name: "worker", Process: Process{Script: "w.py", Instances: "max", RestartFactor: 2}},
	}
	text := Format(in)
	f, err := Parse(filepath.Join(dir, "velos.toml"), text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for i := range in {
		if !reflect.DeepEqual(f.Processes[i].Process, in[i].Process) || f.Processes[i].Name != in[i].Name {
			t.Errorf("round trip %d:\n got %+v\nwant %+v\n%s", i, f.Processes[i].Process, in[i].Process, text)
		}
	}
	if !strings.Contains(string(text), "instances = 4\n") {
		t.Errorf("instances not written as an integer:\n%s", text)
	}
}

// TestTagsWorkForKongAndJSONSchema embeds Process the way the start command
// and the MCP tool do.
func TestTagsWorkForKongAndJSONSchema(t *testing.T) {
	var cli struct {
		Start struct {
			Process Process `embed:""`
		} `cmd:""`
	}
	parser, err := kong.New(&cli, kong.Exit(func(int) { t.Fatal("kong exited") }))
	if err != nil {
		t.Fatalf("kong.New: %v", err)
	}
	_, err = parser.Parse([]string{"start", "app.js", "-i", "max", "--max-memory", "1G",
		"--watch", "--watch-ignore", "a,b", "--mode", "cluster", "--restart-factor", "1.5", "--", "--port", "3000"})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	p := cli.Start.Process
	// env has no flag of its own: velos start's --env takes KEY=VALUE or a profile name.
	want := Process{Script: "app.js", Instances: "max", MaxMemory: "1G",
		Args: []string{"--port", "3000"}, Watch: true, WatchIgnore: []string{"a", "b"}, Mode: "cluster", RestartFactor: 1.5}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("flags =\n%+v\nwant\n%+v", p, want)
	}
	if _, err := parser.Parse([]string{"start", "--mode", "forks"}); err == nil {
		t.Errorf("kong accepted --mode forks")
	}

	s, err := jsonschema.For[Process](nil)
	if err != nil {
		t.Fatalf("jsonschema: %v", err)
	}
	for _, k := range []string{"script", "max_memory", "env", "env_profiles", "instances"} {
		if s.Properties[k] == nil {
			t.Errorf("schema lacks %s", k)
		}
	}
	if len(s.Required) != 0 {
		t.Errorf("schema requires %v", s.Required)
	}
}

func TestSetKeyRefusesWhatAFileRefuses(t *testing.T) {
	for _, c := range []struct{ key, val, want string }{
		{"env.prod.A=B", "1", "not a valid environment variable name"},
		{"env.X\x00Y", "1", "not a valid environment variable name"},
		{"instances", "1000000", "above the limit of 1024"},
	} {
		var p Process
		err := SetKey(&p, c.key, c.val)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SetKey(%q, %q) = %v; want %q", c.key, c.val, err, c.want)
		}
	}
}

func TestByteOrderMarkIsIgnored(t *testing.T) {
	f, err := Parse("bom.toml", []byte("\xef\xbb\xbf[process.api]\nscript = \"sleep\"\n"))
	if err != nil || len(f.Processes) != 1 || f.Processes[0].Name != "api" {
		t.Fatalf("config with a BOM: %v %+v", err, f)
	}
}

// Text that is not UTF-8 is refused, as a file holding it is: Format would
// save U+FFFD in its place.
func TestSetKeyRefusesInvalidUTF8(t *testing.T) {
	for _, kv := range [][2]string{{"env.A", "x\xcey"}, {"args", "a\xff"}, {"env.\xce", "1"}} {
		p := Process{Script: "api.js"}
		err := SetKey(&p, kv[0], kv[1])
		if err == nil || !strings.Contains(err.Error(), "not valid UTF-8") || !reflect.DeepEqual(p, Process{Script: "api.js"}) {
			t.Errorf("SetKey(%q, %q) = %v, process %+v", kv[0], kv[1], err, p)
		}
	}
}
