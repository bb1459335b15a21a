package pm2

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/velos-pm/velos/core/config"
)

// Rule is how one PM2 key is read.
type Rule struct {
	// Key is the PM2 key (its schema name; aliases lead to it).
	Key string
	// Velos names the Velos keys it sets ("" when none).
	Velos string
	// Doc says how the value maps, or what to do instead.
	Doc   string
	apply func(a *app, v any) error
}

// aliases are the other names PM2 accepts for a key (lib/API/schema.json),
// after camelCase is turned into snake_case.
var aliases = map[string]string{
	"exec": "script", "cmd": "script", "command": "script",
	"exec_interpreter": "interpreter",
	"node_args":        "interpreter_args",
	"out":              "out_file", "output": "out_file", "out_log": "out_file",
	"error": "error_file", "err": "error_file", "err_file": "error_file", "err_log": "error_file",
	"log": "log_file", "pid": "pid_file", "cron": "cron_restart", "combine_logs": "merge_logs",
	"uid": "user",
}

// dumpState are the keys `pm2 save` records about a run, not its config.
var dumpState = []string{"pm_id", "status", "pm_uptime", "created_at", "restart_time", "unstable_restarts",
	"axm_actions", "axm_monitor", "axm_options", "axm_dynamic", "vizion_running", "unique_id", "version",
	"node_version", "_pm2_version", "exit_code", "prev_restart_delay", "versioning", "km_link", "username",
	"pm_out_log_path", "pm_err_log_path", "pm_pid_path", "pm_log_path", "NODE_APP_INSTANCE", "instance_id",
	"env", "name", "instances", "merge_logs"}

// dumpEnvSkip are variables a dump's env holds that PM2 or the shell set,
// not the app's config.
var dumpEnvSkip = []string{"_", "PWD", "OLDPWD", "SHLVL", "NODE_APP_INSTANCE", "unique_id", "PM2_HOME",
	"PM2_USAGE", "PM2_INTERACTOR_PROCESSING", "PM2_JSON_PROCESSING", "PM2_PROGRAMMATIC", "pm_id"}

// app converts one PM2 app.
type app struct {
	index   int
	raw     map[string]any    // canonical key → value
	written map[string]string // canonical key → the key as written
	extra   []string          // keys that are not PM2's, as written
	dir     string
	dump    bool
	o       Options
	name    string
	p       config.Process
	notes   []Note
	probs   []config.Problem
	// interp is the program that will run the script ("node" for a .js
	// file), for PM2's rule that node apps with instances are clusters.
	interp string
}

func newApp(i int, m map[string]any, dir string, dump bool, o Options) *app {
	m = normalize(m).(map[string]any)
	a := &app{index: i, raw: map[string]any{}, written: map[string]string{}, dir: dir, dump: dump, o: o}
	var env map[string]any
	if dump {
		env, _ = m["env"].(map[string]any)
		if s, ok := m["pm_exec_path"]; ok {
			a.set("script", "pm_exec_path", s)
		}
		if s, ok := m["pm_cwd"]; ok {
			a.set("cwd", "pm_cwd", s)
		}
	}
	for _, k := range sortedKeys(m) {
		v := m[k]
		key := snake(k)
		if c, ok := aliases[key]; ok {
			key = c
		}
		switch {
		case dump && (k == "pm_exec_path" || k == "pm_cwd"):
			continue
		case dump && k != "env" && k != "name" && k != "instances" && (slices.Contains(dumpState, k) || strings.HasPrefix(k, "pm_")):
			continue
		case dump && env != nil && env[k] != nil && !strings.HasPrefix(k, "env_"):
			continue // the env, which PM2 also spreads over the top level
		}
		if ruleFor(key) == nil && !strings.HasPrefix(key, "env_") {
			a.extra = append(a.extra, k)
			continue
		}
		a.set(key, k, v)
	}
	if dump {
		a.raw["env"] = dumpEnv(env, a.raw["name"])
		delete(a.raw, "merge_logs")
	}
	return a
}

// set records a value under its canonical key; the canonical spelling wins
// over an alias, as in PM2.
func (a *app) set(key, as string, v any) {
	if prev, ok := a.written[key]; ok && prev == key {
		return
	}
	if _, ok := a.written[key]; ok && as != key {
		return
	}
	a.raw[key], a.written[key] = v, as
}

// dumpEnv keeps the variables of a dump's env that are the app's own: PM2
// records the whole environment it started the app with, so variables equal
// to this process's (PATH, HOME …, which the daemon passes anyway) and
// those PM2 or the shell set are left out.
func dumpEnv(env map[string]any, name any) any {
	out := map[string]any{}
	for k, v := range env {
		if slices.Contains(dumpEnvSkip, k) || k == name {
			continue
		}
		if cur, ok := os.LookupEnv(k); ok && cur == envValue(v) {
			continue
		}
		out[k] = v
	}
	return out
}

func (a *app) problem(key, format string, args ...any) {
	a.probs = append(a.probs, config.Problem{Key: a.label() + "." + a.written[key], Msg: fmt.Sprintf(format, args...)})
}

func (a *app) note(key string, unsupported bool, format string, args ...any) {
	k := key
	if w, ok := a.written[key]; ok {
		k = w
	}
	a.notes = append(a.notes, Note{App: a.name, Key: k, Msg: fmt.Sprintf(format, args...), Unsupported: unsupported})
}

func (a *app) label() string {
	if a.name != "" {
		return a.name
	}
	return fmt.Sprintf("apps[%d]", a.index)
}

// convert applies every rule, in the order of [Rules] (some read what an
// earlier one set).
func (a *app) convert() {
	for _, r := range rules {
		v, ok := a.raw[r.Key]
		if !ok || r.apply == nil {
			continue
		}
		if err := r.apply(a, v); err != nil {
			a.problem(r.Key, "%s", err)
		}
	}
	for _, k := range sortedKeys(a.raw) {
		if p, ok := strings.CutPrefix(k, "env_"); ok && ruleFor(k) == nil {
			if err := envProfile(a, p, a.raw[k]); err != nil {
				a.problem(k, "%s", err)
			}
		}
	}
	if _, ok := a.raw["script"]; !ok {
		a.probs = append(a.probs, config.Problem{Key: a.label() + ".script", Msg: "missing: the program to run (PM2's script)"})
	}
	for _, k := range a.extra {
		a.notes = append(a.notes, Note{App: a.name, Key: k, Unsupported: true, Msg: "not a PM2 key (PM2 ignores it too)"})
	}
	a.finishInterpreter()
	a.clusterByDefault()
	// PM2 stops an app with SIGINT (cst.KILL_SIGNAL); apps written for it
	// handle that one.
	a.p.KillSignal = "SIGINT"
}

// clusterByDefault is PM2's rule: a node (or bun) app given instances and no
// exec_mode runs in cluster mode.
func (a *app) clusterByDefault() {
	if _, ok := a.raw["instances"]; !ok || a.dump {
		return
	}
	if _, ok := a.raw["exec_mode"]; ok {
		return
	}
	if b := filepath.Base(a.interp); strings.HasSuffix(b, "node") || strings.HasSuffix(b, "bun") {
		a.p.Mode = "cluster"
	}
}

func ruleFor(key string) *Rule {
	for i := range rules {
		if rules[i].Key == key {
			return &rules[i]
		}
	}
	return nil
}

// Rules lists every key PM2's schema (lib/API/schema.json) knows, in the
// order they are applied, with the Velos keys each sets or what to do
// instead.
func Rules() []Rule { return slices.Clone(rules) }

var rules = []Rule{
	{Key: "name", Velos: "the [process.NAME] table", Doc: "kept; a name Velos cannot use (spaces, ':', '@scope/') has those characters replaced by '-', and a note says so", apply: ruleName},
	{Key: "script", Velos: "script", Doc: "kept (aliases exec, cmd, command); relative to cwd when cwd is set, as PM2 resolves it; a shell line runs with sh -c", apply: ruleScript},
	{Key: "cwd", Velos: "cwd", Doc: "kept; relative to the file's folder", apply: func(a *app, v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a folder, got %s", describe(v))
		}
		a.p.Cwd = s
		return nil
	}},
	{Key: "interpreter", Velos: "interpreter", Doc: "kept (alias exec_interpreter); none runs the script itself; with no interpreter, a text file of an extension PM2 does not know runs with node, .ts with bun, .coffee with coffee, as in PM2", apply: ruleInterpreter},
	{Key: "interpreter_args", Velos: "interpreter_args", Doc: "kept (aliases node_args, interpreterArgs); a string is split as PM2 splits it", apply: func(a *app, v any) error {
		l, err := stringList(v)
		if len(l) > 0 {
			a.p.InterpreterArgs = l
		}
		return err
	}},
	{Key: "args", Velos: "args", Doc: "kept; a string is split as PM2 splits it (white space, quotes kept together)", apply: func(a *app, v any) error {
		l, err := stringList(v)
		if len(l) > 0 {
			a.p.Args = l
		}
		return err
	}},
	{Key: "instances", Velos: "instances", Doc: `a number; 0 or "max" → "max"; -1 (all CPUs but one) → that number on this machine, with a note`, apply: ruleInstances},
	{Key: "exec_mode", Velos: "mode", Doc: `cluster or cluster_mode → mode = "cluster"; fork → the default; a node app with instances and no exec_mode is a cluster, as in PM2`, apply: func(a *app, v any) error {
		switch v {
		case "cluster", "cluster_mode":
			a.p.Mode = "cluster"
		case "fork", "fork_mode":
		default:
			return fmt.Errorf(`want "fork" or "cluster", got %s`, describe(v))
		}
		return nil
	}},
	{Key: "env", Velos: "env", Doc: "kept; numbers and booleans as text, objects as JSON (as PM2 passes them)", apply: func(a *app, v any) error {
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("want an object of NAME: value, got %s", describe(v))
		}
		for k, e := range m {
			if a.p.Env == nil {
				a.p.Env = map[string]string{}
			}
			a.p.Env[k] = envValue(e)
		}
		return nil
	}},
	{Key: "env_*", Velos: "env.PROFILE", Doc: "env_production → the env profile production, chosen with --env production as in PM2", apply: nil},
	{Key: "port", Velos: "env.PORT", Doc: "PORT in env, as PM2 sets it", apply: func(a *app, v any) error {
		s, ok := scalarString(v)
		if !ok {
			return fmt.Errorf("want a port number, got %s", describe(v))
		}
		if a.p.Env == nil {
			a.p.Env = map[string]string{}
		}
		a.p.Env["PORT"] = s
		return nil
	}},
	{Key: "autorestart", Velos: "autorestart", Doc: `false → "never"; true → the default ("always")`, apply: func(a *app, v any) error {
		b, err := boolean(v)
		if err == nil && !b {
			a.p.Autorestart = "never"
		}
		return err
	}},
	{Key: "stop_exit_codes", Velos: "autorestart", Doc: `[0] → autorestart = "on-failure" (no restart after exit 0); other codes cannot be exempted: a note says which still restart`, apply: ruleStopExitCodes},
	{Key: "max_restarts", Velos: "max_restarts", Doc: "kept; Velos counts the restarts within restart_window (60s) where PM2 counts consecutive unstable ones", apply: func(a *app, v any) error {
		f, ok := number(v)
		if !ok || f < 0 || f != float64(int(f)) {
			return fmt.Errorf("want a whole number ≥ 0, got %s", describe(v))
		}
		if f == 0 {
			a.note("max_restarts", true, `0: Velos has no "no restarts" count (0 means its default, 10); set autorestart = "never" to never restart`)
			return nil
		}
		a.p.MaxRestarts = int(f)
		return nil
	}},
	{Key: "min_uptime", Velos: "min_uptime", Doc: "milliseconds (or 10s, 5m, 1h) → a duration", apply: func(a *app, v any) error {
		d, err := millis(v, true)
		a.p.MinUptime = d
		return err
	}},
	{Key: "restart_delay", Velos: "restart_delay, restart_factor = 1, max_restart_delay", Doc: "milliseconds → a fixed wait before each restart (factor 1, capped at itself)", apply: func(a *app, v any) error {
		if _, exp := a.raw["exp_backoff_restart_delay"]; exp {
			a.note("restart_delay", false, "exp_backoff_restart_delay is set and wins, as in PM2")
			return nil
		}
		d, err := millis(v, false)
		if err != nil || d == "0s" {
			return err
		}
		a.p.RestartDelay, a.p.MaxRestartDelay, a.p.RestartFactor = d, d, 1
		return nil
	}},
	{Key: "exp_backoff_restart_delay", Velos: "restart_delay, restart_factor = 1.5, max_restart_delay = 15s", Doc: "milliseconds → the first wait, × 1.5 after each quick crash up to 15 s, as PM2 backs off", apply: func(a *app, v any) error {
		d, err := millis(v, false)
		if err != nil || d == "0s" {
			return err
		}
		a.p.RestartDelay, a.p.RestartFactor, a.p.MaxRestartDelay = d, 1.5, "15s"
		if dd, _ := config.ParseDuration(d); dd > 15e9 {
			a.p.MaxRestartDelay = d
		}
		return nil
	}},
	{Key: "kill_timeout", Velos: "kill_timeout", Doc: "milliseconds → a duration", apply: func(a *app, v any) error {
		d, err := millis(v, false)
		a.p.KillTimeout = d
		return err
	}},
	{Key: "shutdown_with_message", Velos: "", Doc: "not supported: Velos stops with kill_signal; handle SIGINT (process.on('SIGINT')) instead of the shutdown message", apply: func(a *app, v any) error {
		if b, _ := boolean(v); b {
			a.note("shutdown_with_message", true, "not supported: Velos stops a process with its kill_signal; handle SIGINT (process.on('SIGINT')) instead of process.on('message')")
		}
		return nil
	}},
	{Key: "wait_ready", Velos: "wait_ready", Doc: "kept (Velos takes process.send('ready') and sd_notify READY=1)", apply: func(a *app, v any) error {
		b, err := boolean(v)
		a.p.WaitReady = b
		return err
	}},
	{Key: "listen_timeout", Velos: "listen_timeout", Doc: "milliseconds → a duration", apply: func(a *app, v any) error {
		d, err := millis(v, false)
		a.p.ListenTimeout = d
		return err
	}},
	{Key: "max_memory_restart", Velos: "max_memory", Doc: `"200M", "1G", "512K" or bytes → max_memory (1024-based in both)`, apply: func(a *app, v any) error {
		s, err := size(v)
		a.p.MaxMemory = s
		return err
	}},
	{Key: "cron_restart", Velos: "cron_restart", Doc: `kept (alias cron; 5 fields, or 6 with seconds first, in both); 0 turns it off`, apply: func(a *app, v any) error {
		if v == 0.0 || v == "0" || v == "" {
			return nil
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a cron expression, got %s", describe(v))
		}
		if err := config.CheckCron(s); err != nil {
			return err
		}
		a.p.CronRestart = s
		return nil
	}},
	{Key: "watch", Velos: "watch, watch_paths", Doc: "true → watch = true; a path or a list → watch_paths (relative to cwd, as in PM2)", apply: ruleWatch},
	{Key: "ignore_watch", Velos: "watch_ignore", Doc: "kept; a regular expression (PM2 takes both) gets a note, as Velos takes names and globs", apply: ruleIgnoreWatch},
	{Key: "watch_delay", Velos: "watch_debounce", Doc: "milliseconds → a duration", apply: func(a *app, v any) error {
		d, err := millis(v, false)
		a.p.WatchDebounce = d
		return err
	}},
	{Key: "watch_options", Velos: "", Doc: "not supported (chokidar options): Velos watches with inotify; use watch_paths, watch_ignore and watch_debounce", apply: func(a *app, v any) error {
		a.note("watch_options", true, "not supported (chokidar's options): Velos watches with the OS's notifications; use watch_paths, watch_ignore and watch_debounce")
		return nil
	}},
	{Key: "user", Velos: "user", Doc: "kept (alias uid); a number as text", apply: func(a *app, v any) error {
		s, ok := scalarString(v)
		if !ok {
			return fmt.Errorf("want a user name or id, got %s", describe(v))
		}
		a.p.User = s
		return nil
	}},
	{Key: "gid", Velos: "group", Doc: "kept; a number as text", apply: func(a *app, v any) error {
		s, ok := scalarString(v)
		if !ok {
			return fmt.Errorf("want a group name or id, got %s", describe(v))
		}
		a.p.Group = s
		return nil
	}},
	{Key: "namespace", Velos: "", Doc: "not supported: Velos has no namespaces; select by name, or start a group with --only a,b (default is fine)", apply: func(a *app, v any) error {
		if v != "default" && v != "" {
			a.note("namespace", true, "not supported: Velos has no namespaces; select processes by name or id, or start a group with velos start FILE --only a,b")
		}
		return nil
	}},
	{Key: "autostart", Velos: "", Doc: "false: Velos has no added-but-not-started process; velos start FILE leaves the app out, and an imported velos.toml notes it (use --only)", apply: func(a *app, v any) error {
		if b, err := boolean(v); err != nil || b {
			return err
		}
		a.note("autostart", true, "false: Velos cannot add a process without starting it; leave it out with --only, or start it later with velos start FILE --only %s", a.name)
		return nil
	}},
	{Key: "out_file", Velos: "", Doc: "not supported: output goes to $VELOS_HOME/logs/NAME-out.log (velos describe shows the path; velos logs reads it)", apply: logFile("out_file", "stdout", "NAME-out.log")},
	{Key: "error_file", Velos: "", Doc: "not supported: errors go to $VELOS_HOME/logs/NAME-err.log", apply: logFile("error_file", "stderr", "NAME-err.log")},
	{Key: "log_file", Velos: "", Doc: "not supported: velos logs NAME merges both streams by time", apply: logFile("log_file", "both streams", "NAME-out.log and NAME-err.log, merged by velos logs NAME")},
	{Key: "pid_file", Velos: "", Doc: "not supported: velos pid NAME prints the pid", apply: func(a *app, v any) error {
		a.note("pid_file", true, "not supported: Velos writes no pid files; velos pid %s prints the pid", a.name)
		return nil
	}},
	{Key: "merge_logs", Velos: "", Doc: "nothing to do: each instance has its own files and velos logs NAME merges them", apply: func(a *app, v any) error {
		a.note("merge_logs", false, "each instance keeps its own log files; velos logs %s shows them merged", a.name)
		return nil
	}},
	{Key: "time", Velos: "", Doc: "nothing to do: Velos stamps every line", apply: func(a *app, v any) error {
		a.note("time", false, "Velos stamps every line it stores")
		return nil
	}},
	{Key: "log_date_format", Velos: "", Doc: "not supported: stamps are RFC 3339 (UTC) in the files, local time in velos logs", apply: func(a *app, v any) error {
		a.note("log_date_format", true, "not supported: Velos stamps lines in RFC 3339 (UTC) in its files and shows local time in velos logs")
		return nil
	}},
	{Key: "log_type", Velos: "", Doc: "not supported: velos logs --json prints lines as JSON", apply: func(a *app, v any) error {
		if v != "" && v != "raw" {
			a.note("log_type", true, "not supported: the files hold stamped lines; velos logs %s --json prints them as JSON", a.name)
		}
		return nil
	}},
	{Key: "disable_logs", Velos: "", Doc: "not supported: Velos keeps output; bound it with log_max_size and log_keep", apply: func(a *app, v any) error {
		if b, _ := boolean(v); b {
			a.note("disable_logs", true, "not supported: Velos always keeps output; bound it with log_max_size and log_keep")
		}
		return nil
	}},
	{Key: "increment_var", Velos: "", Doc: "not supported: each instance gets VELOS_INSTANCE (0, 1, …)", apply: func(a *app, v any) error {
		a.note("increment_var", true, "not supported: each instance gets VELOS_INSTANCE (0, 1, …); compute the value from it")
		return nil
	}},
	{Key: "instance_var", Velos: "", Doc: "not supported: the instance number is in VELOS_INSTANCE (NODE_APP_INSTANCE is not set)", apply: func(a *app, v any) error {
		if v != "NODE_APP_INSTANCE" || !a.dump {
			a.note("instance_var", true, "not supported: the instance number is in VELOS_INSTANCE (NODE_APP_INSTANCE is not set); read that")
		}
		return nil
	}},
	{Key: "filter_env", Velos: "", Doc: "not supported: a process gets the daemon's environment plus env", apply: func(a *app, v any) error {
		if b, ok := v.(bool); ok && !b {
			return nil
		}
		a.note("filter_env", true, "not supported: a process gets the daemon's environment plus env; start the daemon with a clean environment instead")
		return nil
	}},
	{Key: "treekill", Velos: "", Doc: "nothing to do when true (Velos stops the whole process group); false is not supported", apply: func(a *app, v any) error {
		if b, _ := boolean(v); !b {
			a.note("treekill", true, "false is not supported: Velos always stops the whole process group; start what must outlive it with setsid")
		}
		return nil
	}},
	{Key: "force", Velos: "", Doc: "not supported when true: names are unique in Velos", apply: func(a *app, v any) error {
		if b, _ := boolean(v); b {
			a.note("force", true, "not supported: a name runs once in Velos; use instances to run copies")
		}
		return nil
	}},
	{Key: "append_env_to_name", Velos: "", Doc: "not supported: name one process per environment yourself", apply: func(a *app, v any) error {
		if b, _ := boolean(v); b {
			a.note("append_env_to_name", true, "not supported: the name does not change with --env; name one process per environment yourself")
		}
		return nil
	}},
	{Key: "name_prefix", Velos: "", Doc: "not supported: name the processes as you want them", apply: func(a *app, v any) error {
		a.note("name_prefix", true, "not supported: write the names as you want them")
		return nil
	}},
	{Key: "source_map_support", Velos: "", Doc: "true: Velos injects nothing; give node --enable-source-maps in interpreter_args", apply: func(a *app, v any) error {
		if b, _ := boolean(v); b {
			a.note("source_map_support", true, "Velos injects nothing into node; add --enable-source-maps to interpreter_args")
		}
		return nil
	}},
	{Key: "disable_source_map_support", Velos: "", Doc: "nothing to do: Velos injects nothing", apply: pm2Internal("disable_source_map_support")},
	{Key: "trace", Velos: "", Doc: "PM2.io: not supported when true; Velos exports its own traces with OTEL_EXPORTER_OTLP_ENDPOINT", apply: pm2io("trace")},
	{Key: "disable_trace", Velos: "", Doc: "nothing to do (PM2.io)", apply: pm2Internal("disable_trace")},
	{Key: "deep_monitoring", Velos: "", Doc: "PM2.io: not supported when true", apply: pm2io("deep_monitoring")},
	{Key: "v8", Velos: "", Doc: "PM2.io: not supported when true", apply: pm2io("v8")},
	{Key: "event_loop_inspector", Velos: "", Doc: "PM2.io: not supported when true", apply: pm2io("event_loop_inspector")},
	{Key: "io", Velos: "", Doc: "PM2.io: not supported", apply: pm2io("io")},
	{Key: "post_update", Velos: "", Doc: "PM2.io: not supported", apply: pm2io("post_update")},
	{Key: "install_url", Velos: "", Doc: "PM2.io: not supported", apply: pm2io("install_url")},
	{Key: "pmx", Velos: "", Doc: "nothing to do: Velos injects no agent", apply: pm2Internal("pmx")},
	{Key: "automation", Velos: "", Doc: "nothing to do (PM2.io)", apply: pm2Internal("automation")},
	{Key: "vizion", Velos: "", Doc: "nothing to do: Velos keeps no git metadata", apply: pm2Internal("vizion")},
	{Key: "windows_hide", Velos: "", Doc: "nothing to do (windowsHide: Velos opens no windows)", apply: pm2Internal("windowsHide")},
	{Key: "kill_retry_time", Velos: "", Doc: "nothing to do: Velos waits for the exit, not in steps", apply: pm2Internal("kill_retry_time")},
	{Key: "execute_command", Velos: "", Doc: "nothing to do (a PM2 internal)", apply: pm2Internal("execute_command")},
	{Key: "write", Velos: "", Doc: "nothing to do (a PM2 internal)", apply: pm2Internal("write")},
	{Key: "username", Velos: "", Doc: "nothing to do: PM2 records who started the app; user is the key that changes it", apply: pm2Internal("username")},
}

func pm2Internal(key string) func(*app, any) error {
	return func(a *app, v any) error {
		if a.dump {
			return nil // pm2 save writes them for every app: PM2's defaults, not the user's choice
		}
		a.note(snake(key), false, "a PM2 internal; nothing to do in Velos")
		return nil
	}
}

func pm2io(key string) func(*app, any) error {
	return func(a *app, v any) error {
		if b, ok := v.(bool); ok && !b {
			a.note(key, false, "a PM2.io switch left off; nothing to do in Velos")
			return nil
		}
		a.note(key, true, "a PM2.io feature, not supported: Velos exports traces with OTEL_EXPORTER_OTLP_ENDPOINT and metrics with velos metrics --port 9615")
		return nil
	}
}

func logFile(key, what, where string) func(*app, any) error {
	return func(a *app, v any) error {
		if s, ok := v.(string); ok && (s == "/dev/null" || s == "NULL") {
			a.note(key, true, "not supported: Velos always keeps %s, in $VELOS_HOME/logs/%s; bound it with log_max_size and log_keep", what, strings.ReplaceAll(where, "NAME", a.name))
			return nil
		}
		if b, ok := v.(bool); ok && !b {
			return nil
		}
		a.note(key, true, "not supported: Velos writes %s to $VELOS_HOME/logs/%s (velos describe %s shows the path; velos logs reads it)", what, strings.ReplaceAll(where, "NAME", a.name), a.name)
		return nil
	}
}

func ruleName(a *app, v any) error {
	s, ok := scalarString(v)
	if !ok {
		return fmt.Errorf("want a string, got %s", describe(v))
	}
	a.name = processName(s)
	if a.name != s {
		a.note("name", true, "%q is not a Velos name (letters, digits, '-', '_', '.'): the process is called %s", s, a.name)
	}
	return nil
}

func ruleScript(a *app, v any) error {
	s, ok := v.(string)
	if !ok || strings.TrimSpace(s) == "" {
		return fmt.Errorf("want the program to run, got %s", describe(v))
	}
	if a.name == "" {
		base := filepath.Base(strings.Fields(s)[0])
		if i := strings.LastIndexByte(base, '.'); i > 0 {
			base = base[:i]
		}
		if strings.ContainsAny(s, " \t") {
			base = s // PM2 names a command line after itself
		}
		a.name = processName(base)
	}
	// PM2 resolves a relative script against cwd; Velos against the file's
	// folder: join them when cwd is set and the file is there.
	cwd, _ := a.raw["cwd"].(string)
	if cwd != "" && !filepath.IsAbs(s) && !strings.ContainsAny(s, " \t") {
		abs := cwd
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(a.dir, cwd)
		}
		if _, err := os.Stat(filepath.Join(abs, s)); err == nil {
			s = filepath.Join(abs, s)
			if rel, err := filepath.Rel(a.dir, s); err == nil && !strings.HasPrefix(rel, "..") {
				s = "./" + filepath.ToSlash(rel)
			}
		}
	}
	a.p.Script = s
	a.interp = defaultInterpreter(a.scriptPath())
	return nil
}

// scriptPath is the script as a path on this machine ("" when it is not a file).
func (a *app) scriptPath() string {
	s := a.p.Script
	if !filepath.IsAbs(s) {
		s = filepath.Join(a.dir, s)
	}
	if st, err := os.Stat(s); err == nil && st.Mode().IsRegular() {
		return s
	}
	return ""
}

// pm2Extensions are the interpreters PM2 picks by extension
// (lib/API/interpreter.json) where Velos picks none.
var pm2Extensions = map[string]string{".coffee": "coffee", ".ls": "lsc", ".ts": "bun", ".tsx": "bun"}

// defaultInterpreter is what runs path with no interpreter given, in Velos
// (by extension) or, for the rest, in PM2.
func defaultInterpreter(path string) string {
	if path == "" {
		return ""
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".js", ".mjs", ".cjs":
		return "node"
	case ".py", ".sh", ".rb", ".pl", ".php":
		return "velos"
	}
	if in, ok := pm2Extensions[strings.ToLower(filepath.Ext(path))]; ok {
		return in
	}
	return ""
}

func ruleInterpreter(a *app, v any) error {
	s, ok := v.(string)
	if !ok || s == "" {
		return fmt.Errorf("want a program, got %s", describe(v))
	}
	if strings.Contains(s, "@") && strings.HasPrefix(filepath.Base(s), "node@") {
		a.note("interpreter", true, "%s picks a node version through PM2's nvm support, which Velos does not have: set interpreter to that node's path", s)
		return nil
	}
	if a.dump && s == "node" && a.interp == "node" {
		a.interp = s
		return nil // what Velos picks for a .js file anyway
	}
	a.p.Interpreter = s
	a.interp = s
	return nil
}

// finishInterpreter applies PM2's choice where Velos would choose otherwise
// or refuse: .ts with bun, .coffee with coffee, and a text file of an
// unknown extension with node.
func (a *app) finishInterpreter() {
	if a.p.Interpreter != "" {
		return
	}
	path := a.scriptPath()
	if path == "" {
		return
	}
	if in, ok := pm2Extensions[strings.ToLower(filepath.Ext(path))]; ok {
		a.p.Interpreter, a.interp = in, in
		return
	}
	if defaultInterpreter(path) != "" {
		return
	}
	if isText(path) {
		a.p.Interpreter, a.interp = "node", "node"
	}
}

// isText reports a file that is not a binary: no NUL in its first 512
// bytes (PM2 runs such a file with node).
func isText(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 512)
	n, _ := f.Read(buf)
	return n > 0 && !slices.Contains(buf[:n], 0)
}

func ruleInstances(a *app, v any) error {
	switch x := v.(type) {
	case string:
		if strings.TrimSpace(x) == "max" {
			a.p.Instances = "max"
			return nil
		}
	}
	f, ok := number(v)
	if !ok || f != float64(int(f)) || f < -1 {
		return fmt.Errorf(`want a number or "max", got %s`, describe(v))
	}
	switch n := int(f); {
	case n == 0:
		a.p.Instances = "max"
	case n == -1:
		n = max(1, a.o.CPUs-1)
		a.p.Instances = strconv.Itoa(n)
		a.note("instances", true, "-1 (all CPUs but one) is %d on this machine; write \"max\" or a number", n)
	case n > config.MaxInstances:
		return fmt.Errorf("%d is above the limit of %d", n, config.MaxInstances)
	case n > 1:
		a.p.Instances = strconv.Itoa(n)
	}
	return nil
}

func ruleStopExitCodes(a *app, v any) error {
	var codes []int
	for _, e := range asList(v) {
		f, ok := number(e)
		if !ok || f != float64(int(f)) {
			return fmt.Errorf("want exit codes (numbers), got %s", describe(e))
		}
		codes = append(codes, int(f))
	}
	if len(codes) == 0 {
		return nil
	}
	if a.p.Autorestart == "never" {
		return nil // nothing restarts anyway
	}
	var others []string
	for _, c := range codes {
		if c != 0 {
			others = append(others, strconv.Itoa(c))
		}
	}
	if slices.Contains(codes, 0) {
		a.p.Autorestart = "on-failure"
		if len(others) == 0 {
			return nil
		}
		a.note("stop_exit_codes", true, "only 0 maps (autorestart = \"on-failure\"): Velos cannot exempt exit %s, which still restart; exit 0 from the program instead", strings.Join(others, ", "))
		return nil
	}
	a.note("stop_exit_codes", true, "not supported: Velos cannot exempt exit %s from restarts; exit 0 from the program and set autorestart = \"on-failure\"", strings.Join(others, ", "))
	return nil
}

func ruleWatch(a *app, v any) error {
	var paths []string
	switch x := v.(type) {
	case bool:
		a.p.Watch = x
		return nil
	case string:
		if b, err := strconv.ParseBool(x); err == nil {
			a.p.Watch = b
			return nil
		}
		paths = []string{x}
	case []any:
		l, err := stringList(x)
		if err != nil {
			return err
		}
		paths = l
	default:
		return fmt.Errorf("want true, false, a path or a list of paths, got %s", describe(v))
	}
	a.p.Watch = len(paths) > 0
	cwd := a.p.Cwd
	for _, p := range paths {
		// PM2 watches relative to cwd; Velos's paths are relative to the file.
		if cwd != "" && !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		a.p.WatchPaths = append(a.p.WatchPaths, p)
	}
	return nil
}

var regexish = regexp.MustCompile(`[\\^$()+|]`)

func ruleIgnoreWatch(a *app, v any) error {
	l, err := stringList(v)
	if err != nil {
		return err
	}
	a.p.WatchIgnore = l
	for _, s := range l {
		if regexish.MatchString(s) {
			a.note("ignore_watch", true, "%q looks like a regular expression: Velos's watch_ignore takes names and globs (e.g. node_modules, *.log)", s)
		}
	}
	if _, on := a.raw["watch"]; !on {
		a.p.WatchIgnore = nil
		a.note("ignore_watch", false, "has no effect without watch, in PM2 as in Velos")
	}
	return nil
}

func envProfile(a *app, profile string, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("want an object of NAME: value, got %s", describe(v))
	}
	if profile == "" {
		return fmt.Errorf("an env profile needs a name after env_")
	}
	if a.p.EnvProfiles == nil {
		a.p.EnvProfiles = map[string]map[string]string{}
	}
	prof := map[string]string{}
	for k, e := range m {
		prof[k] = envValue(e)
	}
	a.p.EnvProfiles[profile] = prof
	return nil
}
