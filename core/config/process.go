// Package config reads Velos process definitions — TOML files, `velos start`
// flags and MCP tool input, which all share the [Process] key set — checks
// them with messages that name the file, line, column and key, and resolves
// them into the runtime form, [spec.Spec].
package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Process is the per-process key set. The same struct is a [process.NAME]
// table in a TOML file, the flags of `velos start` (kong, embedded) and the
// JSON input of the MCP start tool, so every value has a type all three can
// express: durations and sizes are strings ("5s", "1G"), lists are []string.
//
// The velos tag names the format a string must have; it is what [SetKey],
// [Parse] and [Resolve] check, so the three give the same message. The help
// tag is the CLI's help and the README's; the brief tag the shorter
// description a model reads in process_start's schema ("-": the name says
// it), see tool.Brief.
//
// In TOML, env profiles are sub-tables of env ([process.api.env.staging]);
// in JSON they are the separate env_profiles object; they cannot be flags.
type Process struct {
	Script          string                       `toml:"script,omitempty" json:"script,omitempty" arg:"" optional:"" brief:"file, command or shell line" help:"program to run: a file (interpreter picked by its extension), a command on PATH, or a shell line"`
	Args            []string                     `toml:"args,omitempty" json:"args,omitempty" arg:"" optional:"" brief:"-" help:"arguments passed to the script (on the command line: after --)"`
	Cwd             string                       `toml:"cwd,omitempty" json:"cwd,omitempty" brief:"-" help:"working directory (default: the config file's folder)"`
	Interpreter     string                       `toml:"interpreter,omitempty" json:"interpreter,omitempty" brief:"-" help:"program that runs the script, e.g. node or python3 (default: by extension; none = run the script itself)"`
	InterpreterArgs []string                     `toml:"interpreter_args,omitempty" json:"interpreter_args,omitempty" sep:"none" brief:"-" help:"arguments between the interpreter and the script, e.g. --inspect"`
	Instances       string                       `toml:"instances,omitempty" json:"instances,omitempty" short:"i" velos:"instances" brief:"number or max" help:"copies to run: a number, or max for one per CPU"`
	Mode            string                       `toml:"mode,omitempty" json:"mode,omitempty" enum:",fork,cluster" default:"" velos:"mode" brief:"-" help:"fork (default) or cluster (the instances share one listening port)"`
	Env             map[string]string            `toml:"env,omitempty" json:"env,omitempty" kong:"-" brief:"-" help:"environment variables, KEY=VALUE (on the command line: --env KEY=VALUE)"`
	EnvProfiles     map[string]map[string]string `toml:"-" json:"env_profiles,omitempty" kong:"-" brief:"-" help:"named env sets merged over env when chosen with --env NAME"`
	EnvFile         string                       `toml:"env_file,omitempty" json:"env_file,omitempty" brief:"-" help:"file of KEY=VALUE lines loaded under env"`
	Autorestart     string                       `toml:"autorestart,omitempty" json:"autorestart,omitempty" enum:",always,on-failure,never" default:"" velos:"autorestart" brief:"-" help:"when to restart after an exit: always (default), on-failure or never"`
	RestartDelay    string                       `toml:"restart_delay,omitempty" json:"restart_delay,omitempty" velos:"duration" brief:"-" help:"wait before the first restart after a quick crash, doubled each time (default 100ms)"`
	MaxRestartDelay string                       `toml:"max_restart_delay,omitempty" json:"max_restart_delay,omitempty" velos:"duration" brief:"-" help:"cap on the wait between restarts (default 4s)"`
	RestartFactor   float64                      `toml:"restart_factor,omitempty" json:"restart_factor,omitempty" velos:"factor" brief:"-" help:"multiplier of the wait after each quick crash, at least 1 (default 2)"`
	MinUptime       string                       `toml:"min_uptime,omitempty" json:"min_uptime,omitempty" velos:"duration" brief:"-" help:"a run this long counts as stable and resets the backoff (default 5s)"`
	MaxRestarts     int                          `toml:"max_restarts,omitempty" json:"max_restarts,omitempty" velos:"count" brief:"then errored (default 10)" help:"restarts within restart_window that mark a crash loop: the process ends errored (default 10)"`
	RestartWindow   string                       `toml:"restart_window,omitempty" json:"restart_window,omitempty" velos:"duration" brief:"-" help:"window in which max_restarts are counted (default 60s)"`
	KillTimeout     string                       `toml:"kill_timeout,omitempty" json:"kill_timeout,omitempty" velos:"duration" brief:"before SIGKILL (default 5s)" help:"grace after the stop signal before SIGKILL (default 5s)"`
	KillSignal      string                       `toml:"kill_signal,omitempty" json:"kill_signal,omitempty" velos:"signal" brief:"-" help:"signal that asks the process to stop (default SIGTERM)"`
	MaxMemory       string                       `toml:"max_memory,omitempty" json:"max_memory,omitempty" velos:"size" brief:"RSS limit, e.g. 1G" help:"restart when the process tree's RSS stays above this, e.g. 1G (1024-based)"`
	CronRestart     string                       `toml:"cron_restart,omitempty" json:"cron_restart,omitempty" velos:"cron" brief:"-" help:"restart on this cron schedule, e.g. \"0 3 * * *\" (6 fields = seconds first)"`
	Listen          string                       `toml:"listen,omitempty" json:"listen,omitempty" velos:"address" brief:"port the instances share" help:"port (or HOST:PORT) clients connect to: Velos binds it once and shares it with every instance, so reloads drop no connection (default: the PORT env var, for Node programs and clusters)"`
	Balance         string                       `toml:"balance,omitempty" json:"balance,omitempty" enum:",socket,round-robin,least-conn" default:"" velos:"balance" brief:"-" help:"how instances share listen: socket (one socket passed to each as LISTEN_FDS, the kernel spreads connections; default for Node) or round-robin / least-conn (Velos's balancer in front, each instance gets its own PORT)"`
	WaitReady       bool                         `toml:"wait_ready,omitempty" json:"wait_ready,omitempty" brief:"online on READY=1 (sd_notify)" help:"online only once the program says so: READY=1 on NOTIFY_SOCKET (sd_notify) or, in Node, process.send('ready')"`
	ReadyTCP        string                       `toml:"ready_tcp,omitempty" json:"ready_tcp,omitempty" velos:"address" brief:"-" help:"online only once this address accepts TCP connections, e.g. 127.0.0.1:$PORT"`
	ReadyHTTP       string                       `toml:"ready_http,omitempty" json:"ready_http,omitempty" velos:"url" brief:"answers 2xx" help:"online only once this URL answers 2xx, e.g. http://127.0.0.1:$PORT/health"`
	ListenTimeout   string                       `toml:"listen_timeout,omitempty" json:"listen_timeout,omitempty" velos:"duration" brief:"readiness wait (default 30s)" help:"how long to wait for readiness before the start fails (default 30s)"`
	Watchdog        string                       `toml:"watchdog,omitempty" json:"watchdog,omitempty" velos:"duration" brief:"max time between WATCHDOG=1" help:"restart (cause watchdog) when the program, given WATCHDOG_USEC, sends no WATCHDOG=1 on NOTIFY_SOCKET for this long"`
	Watch           bool                         `toml:"watch,omitempty" json:"watch,omitempty" brief:"-" help:"restart when files change (watch_paths, default the cwd)"`
	WatchPaths      []string                     `toml:"watch_paths,omitempty" json:"watch_paths,omitempty" brief:"-" help:"files or folders to watch (with watch = true)"`
	WatchIgnore     []string                     `toml:"watch_ignore,omitempty" json:"watch_ignore,omitempty" brief:"-" help:"names or globs not to watch, e.g. node_modules"`
	WatchDebounce   string                       `toml:"watch_debounce,omitempty" json:"watch_debounce,omitempty" velos:"duration" brief:"-" help:"wait for changes to settle this long before restarting"`
	LogMaxSize      string                       `toml:"log_max_size,omitempty" json:"log_max_size,omitempty" velos:"size" brief:"-" help:"rotate a log file at this size, e.g. 10M"`
	LogKeep         int                          `toml:"log_keep,omitempty" json:"log_keep,omitempty" velos:"count" brief:"-" help:"rotated log files to keep"`
	LogGzip         bool                         `toml:"log_gzip,omitempty" json:"log_gzip,omitempty" brief:"-" help:"gzip rotated log files"`
	User            string                       `toml:"user,omitempty" json:"user,omitempty" brief:"-" help:"run as this user (the daemon must be root)"`
	Group           string                       `toml:"group,omitempty" json:"group,omitempty" brief:"-" help:"run with this group (the daemon must be root)"`
}

// Key describes one key of [Process], for help texts and tool descriptions.
type Key struct {
	Name string `json:"name"` // TOML and JSON name, e.g. max_memory
	Type string `json:"type"` // string, duration, size, cron, integer, number, boolean, list, env
	Help string `json:"help"`
}

// field is one key of Process, found by reflection from the struct tags so
// that the key list is written once, on the struct.
type field struct {
	key    string
	index  int
	typ    reflect.Kind // String, Slice, Int, Bool, Float64, Map
	format string       // the velos tag
	help   string
}

// processFields lists the keys of Process in declaration order. It is computed
// once and never changed.
var processFields = func() []field {
	t := reflect.TypeFor[Process]()
	var fs []field
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "-" {
			continue // env profiles live under env
		}
		fs = append(fs, field{key: name, index: i, typ: f.Type.Kind(), format: f.Tag.Get("velos"), help: f.Tag.Get("help")})
	}
	return fs
}()

func fieldByKey(k string) (field, bool) {
	for _, f := range processFields {
		if f.key == k {
			return f, true
		}
	}
	return field{}, false
}

func keyNames() []string {
	names := make([]string, len(processFields))
	for i, f := range processFields {
		names[i] = f.key
	}
	return names
}

// Keys lists every key of [Process] in a stable order, with its type and help.
func Keys() []Key {
	out := make([]Key, 0, len(processFields))
	for _, f := range processFields {
		out = append(out, Key{Name: f.key, Type: f.typeName(), Help: f.help})
	}
	return out
}

func (f field) typeName() string {
	switch f.typ {
	case reflect.Slice:
		return "list"
	case reflect.Map:
		return "env"
	case reflect.Int:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	}
	switch f.format {
	case "duration", "size", "cron":
		return f.format
	}
	return "string"
}

// unknownKey is the message for a key Process does not have.
func unknownKey(k string, candidates []string) string {
	if s := suggest(k, candidates); s != "" {
		return fmt.Sprintf("unknown key (did you mean %q?)", s)
	}
	return "unknown key"
}

// decodeField stores v into p's field f. It checks the TOML type and, for
// strings, the format, and returns the message of the first thing wrong.
// A few friendly conversions mirror what people write: an integer for
// instances or a size, a boolean for autorestart, a number for a factor.
func decodeField(p *Process, f field, v *value) (msg string, at Pos) {
	rv := reflect.ValueOf(p).Elem().Field(f.index)
	want := func(what string) (string, Pos) {
		return fmt.Sprintf("want %s, got %s", what, v.describe()), v.pos
	}
	switch f.typ {
	case reflect.String:
		s := v.str
		switch {
		case v.kind == kString:
		case v.kind == kInt && (f.format == "instances" || f.format == "size"):
			s = strconv.FormatInt(v.i, 10)
		case v.kind == kBool && f.format == "autorestart":
			s = "never"
			if v.b {
				s = "always"
			}
		default:
			what := "a string"
			switch f.format {
			case "duration":
				what = `a duration string like "5s"`
			case "size":
				what = `a size like "512M" or a number of bytes`
			case "instances":
				what = `a number or "max"`
			}
			return want(what)
		}
		if err := checkString(f.format, s); err != nil {
			return err.Error(), v.pos
		}
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && f.format == "instances" {
			// One spelling of a count ("004", " 4", "+4" are 4), so that
			// it is written back as the TOML integer it is.
			s = strconv.Itoa(n)
		}
		rv.SetString(s)
	case reflect.Int:
		if v.kind != kInt {
			return want("an integer")
		}
		if v.i < 0 {
			return fmt.Sprintf("%d is negative", v.i), v.pos
		}
		rv.SetInt(v.i)
	case reflect.Float64:
		var x float64
		switch v.kind {
		case kFloat:
			x = v.f
		case kInt:
			x = float64(v.i)
		default:
			return want("a number")
		}
		if x != 0 && x < 1 {
			return fmt.Sprintf("%g is below 1 (the wait would shrink)", x), v.pos
		}
		rv.SetFloat(x)
	case reflect.Bool:
		if v.kind != kBool {
			return want("true or false")
		}
		rv.SetBool(v.b)
	case reflect.Slice:
		if v.kind != kArray {
			return want("an array of strings")
		}
		list := make([]string, 0, len(v.items))
		for _, it := range v.items {
			if it.kind != kString {
				return fmt.Sprintf("want an array of strings, got %s in it", it.describe()), it.pos
			}
			list = append(list, it.str)
		}
		rv.Set(reflect.ValueOf(list))
	}
	return "", Pos{}
}

// envScalar turns an env value into its string: numbers and booleans are
// accepted because PORT = 3000 is what people write.
func envScalar(v *value) (string, bool) {
	switch v.kind {
	case kString:
		return v.str, true
	case kInt:
		return strconv.FormatInt(v.i, 10), true
	case kFloat:
		return strconv.FormatFloat(v.f, 'g', -1, 64), true
	case kBool:
		return strconv.FormatBool(v.b), true
	}
	return "", false
}

// GetKey returns the value of one key of p: "max_memory", "env" (the base
// env), "env.PORT", "env.staging" (a profile) or "env.staging.PORT".
func GetKey(p Process, keyPath string) (any, error) {
	parts := strings.Split(keyPath, ".")
	if parts[0] == "env" {
		switch len(parts) {
		case 1:
			return p.Env, nil
		case 2:
			if v, ok := p.Env[parts[1]]; ok {
				return v, nil
			}
			if prof, ok := p.EnvProfiles[parts[1]]; ok {
				return prof, nil
			}
			return nil, &Problem{Key: keyPath, Msg: "not set"}
		case 3:
			if v, ok := p.EnvProfiles[parts[1]][parts[2]]; ok {
				return v, nil
			}
			return nil, &Problem{Key: keyPath, Msg: "not set"}
		}
		return nil, &Problem{Key: keyPath, Msg: "env keys are env.NAME or env.PROFILE.NAME"}
	}
	f, ok := fieldByKey(keyPath)
	if !ok {
		return nil, &Problem{Key: keyPath, Msg: unknownKey(keyPath, append(keyNames(), "env"))}
	}
	return reflect.ValueOf(p).Field(f.index).Interface(), nil
}

// SetKey sets one key of p from its text form, checked exactly as the same
// key in a file: on error the message is the file's message without the
// "file:line:col: process.NAME." prefix, and p is unchanged.
//
// The text is read by the key's type: "4" for an integer, "true" for a
// boolean, a TOML array (["a", "b"]) or a comma-separated list for a list.
// An empty value clears the key (its default applies). Env keys are
// "env.NAME" and "env.PROFILE.NAME".
func SetKey(p *Process, keyPath, text string) error {
	// A file cannot hold it (Parse refuses it), and Format would write
	// U+FFFD in its place: the saved value would not be the one set.
	if !utf8.ValidString(keyPath) || !utf8.ValidString(text) {
		return &Problem{Key: strings.ToValidUTF8(keyPath, "\uFFFD"), Msg: "not valid UTF-8 (a config file holds UTF-8 text only)"}
	}
	parts := strings.Split(keyPath, ".")
	if parts[0] == "env" {
		return setEnv(p, keyPath, parts, text)
	}
	f, ok := fieldByKey(keyPath)
	if !ok {
		return &Problem{Key: keyPath, Msg: unknownKey(keyPath, append(keyNames(), "env"))}
	}
	rv := reflect.ValueOf(p).Elem().Field(f.index)
	if text == "" {
		rv.Set(reflect.Zero(rv.Type()))
		return nil
	}
	v, err := textValue(f, text)
	if err != nil {
		return &Problem{Key: keyPath, Msg: err.Error()}
	}
	tmp := *p
	if msg, _ := decodeField(&tmp, f, v); msg != "" {
		return &Problem{Key: keyPath, Msg: msg}
	}
	*p = tmp
	return nil
}

// textValue reads text as the TOML value a file would hold for f, so that
// decodeField judges both the same way.
func textValue(f field, text string) (*value, error) {
	t := strings.TrimSpace(text)
	switch f.typ {
	case reflect.Int:
		if i, err := strconv.ParseInt(t, 10, 64); err == nil {
			return &value{kind: kInt, i: i}, nil
		}
	case reflect.Float64:
		if x, err := strconv.ParseFloat(t, 64); err == nil {
			return &value{kind: kFloat, f: x}, nil
		}
	case reflect.Bool:
		if b, err := strconv.ParseBool(t); err == nil {
			return &value{kind: kBool, b: b}, nil
		}
	case reflect.Slice:
		if strings.HasPrefix(t, "[") {
			root, _, se := parseTree([]byte("v = " + t))
			if se != nil {
				return nil, fmt.Errorf("not a TOML array: %s", se.msg)
			}
			return root.get("v").val, nil
		}
		v := &value{kind: kArray}
		for _, s := range strings.Split(t, ",") {
			v.items = append(v.items, &value{kind: kString, str: strings.TrimSpace(s)})
		}
		return v, nil
	case reflect.String:
		// A quoted TOML string is unquoted; anything else is the string itself.
		if len(t) >= 2 && (t[0] == '"' || t[0] == '\'') {
			if root, _, se := parseTree([]byte("v = " + t)); se == nil {
				if v := root.get("v").val; v.kind == kString {
					return v, nil
				}
			}
		}
		return &value{kind: kString, str: text}, nil
	}
	return &value{kind: kString, str: text}, nil
}

func setEnv(p *Process, keyPath string, parts []string, text string) error {
	// The variable's name is checked as in a file: config_set must not store
	// what a file would refuse.
	if err := checkEnvName(parts[len(parts)-1]); len(parts) > 1 && err != nil {
		return &Problem{Key: keyPath, Msg: err.Error()}
	}
	switch {
	case len(parts) == 2 && parts[1] != "":
		if _, isProfile := p.EnvProfiles[parts[1]]; isProfile {
			return &Problem{Key: keyPath, Msg: "is an env profile; set env." + parts[1] + ".NAME"}
		}
		p.Env = setOrDelete(p.Env, parts[1], text)
	case len(parts) == 3 && parts[1] != "" && parts[2] != "":
		if _, isVar := p.Env[parts[1]]; isVar {
			return &Problem{Key: keyPath, Msg: fmt.Sprintf("env.%s is a variable, not a profile", parts[1])}
		}
		// Copy the outer map too: the caller's Process may share it.
		profiles := make(map[string]map[string]string, len(p.EnvProfiles)+1)
		for k, v := range p.EnvProfiles {
			profiles[k] = v
		}
		if prof := setOrDelete(p.EnvProfiles[parts[1]], parts[2], text); len(prof) > 0 {
			profiles[parts[1]] = prof
		} else {
			delete(profiles, parts[1])
		}
		if len(profiles) == 0 {
			profiles = nil
		}
		p.EnvProfiles = profiles
	default:
		return &Problem{Key: keyPath, Msg: "env keys are env.NAME or env.PROFILE.NAME"}
	}
	return nil
}

// setOrDelete sets m[k] = v, or deletes k when v is empty, copying m so that
// a Process shared with a caller is not changed behind its back.
func setOrDelete(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for mk, mv := range m {
		out[mk] = mv
	}
	if v == "" {
		delete(out, k)
	} else {
		out[k] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// sortedKeys returns m's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
