package config

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/spec"
)

// issue is a problem found while resolving, keyed relative to the process
// (item ≥ 0 points into a list) so a file can place it at a line.
type issue struct {
	key  string
	item int
	msg  string
}

// Resolve turns p into the spec the supervisor runs, checking every key the
// way [Parse] does. Errors are an [*Error] whose problems are keyed relative
// to the process (max_memory, env_file).
//
// Paths (script, cwd, env_file, watch_paths) are relative to baseDir: the
// config file's folder, or the current folder for `velos start app.js`.
// (Note: script is relative to baseDir, not to cwd.) The command is chosen
// as follows:
//
//   - interpreter given: interpreter, interpreter_args, script, args.
//     interpreter = "none" runs the script itself.
//   - script is a file: by extension .js .mjs .cjs → node, .py → python3,
//     .sh → bash, .rb → ruby, .pl → perl, .php → php; .ts and friends need
//     an explicit interpreter (tsx, bun, deno or a type-stripping node: no
//     single choice works everywhere); any other file must be executable and
//     runs itself.
//   - script is not a file and has spaces or shell characters: a shell line,
//     run as sh -c SCRIPT NAME ARGS… (so "$@" are the args).
//   - a bare word: a command found on PATH.
//
// instances "max" is one per CPU of this machine. Env is env_file, then env,
// then the chosen profile (later wins); it holds only what the config sets,
// the daemon adds its own environment. A profile not defined by p is an
// error. Unset keys stay zero: [spec.Spec.WithDefaults] fills them.
func Resolve(p Process, name, profile, baseDir string) (spec.Spec, error) {
	sp, issues := resolve(p, name, profile, baseDir, runtimeCPUs())
	if len(issues) > 0 {
		e := &Error{}
		for _, is := range issues {
			key := is.key
			if is.item >= 0 {
				key = fmt.Sprintf("%s[%d]", key, is.item)
			}
			e.Problems = append(e.Problems, Problem{Key: key, Msg: is.msg})
		}
		return spec.Spec{}, e
	}
	return sp, nil
}

func runtimeCPUs() int { return runtime.NumCPU() }

// interpreters maps a script's extension to the program that runs it.
func interpreterFor(ext string) (string, bool) {
	switch strings.ToLower(ext) {
	case ".js", ".mjs", ".cjs":
		return "node", true
	case ".py":
		return "python3", true
	case ".sh":
		return "bash", true
	case ".rb":
		return "ruby", true
	case ".pl":
		return "perl", true
	case ".php":
		return "php", true
	}
	return "", false
}

func resolve(p Process, name, profile, baseDir string, ncpu int) (spec.Spec, []issue) {
	var issues []issue
	add := func(key string, item int, format string, args ...any) {
		issues = append(issues, issue{key: key, item: item, msg: fmt.Sprintf(format, args...)})
	}
	if err := checkName(name); err != nil {
		add("name", -1, "%s", err.Error())
	}
	// Values that did not come from a file (flags, JSON) are checked here,
	// with the same words as in a file.
	rv := reflect.ValueOf(p)
	for _, f := range processFields {
		fv := rv.Field(f.index)
		switch {
		case f.typ == reflect.String:
			if err := checkString(f.format, fv.String()); err != nil {
				add(f.key, -1, "%s", err.Error())
			}
		case f.typ == reflect.Int && fv.Int() < 0:
			add(f.key, -1, "%d is negative", fv.Int())
		case f.typ == reflect.Float64 && fv.Float() != 0 && fv.Float() < 1:
			add(f.key, -1, "%g is below 1 (the wait would shrink)", fv.Float())
		}
	}

	if !filepath.IsAbs(baseDir) {
		abs, err := filepath.Abs(baseDir)
		if err != nil {
			add("cwd", -1, "base folder %s: %v", baseDir, err)
		}
		baseDir = abs
	}
	abs := func(s string) string {
		if s == "" || filepath.IsAbs(s) {
			return filepath.Clean(s)
		}
		return filepath.Join(baseDir, s)
	}

	cwd := baseDir
	if p.Cwd != "" {
		cwd = abs(p.Cwd)
		if err := isDir(cwd); err != nil {
			add("cwd", -1, "%s", err)
		}
	}

	cmd, msg, key := command(p, name, baseDir)
	if msg != "" {
		add(key, -1, "%s", msg)
	}

	env := map[string]string{}
	if p.EnvFile != "" {
		m, err := ReadEnvFile(abs(p.EnvFile))
		if err != nil {
			add("env_file", -1, "%s", err)
		}
		for k, v := range m {
			env[k] = v
		}
	}
	for _, k := range sortedKeys(p.Env) {
		if err := checkEnvName(k); err != nil {
			add("env."+k, -1, "%s", err)
		}
		env[k] = p.Env[k]
	}
	if profile != "" {
		prof, ok := p.EnvProfiles[profile]
		if !ok {
			add("env", -1, "%s", unknownProfile(profile, sortedKeys(p.EnvProfiles)))
		}
		for k, v := range prof {
			env[k] = v
		}
	}
	if len(env) == 0 {
		env = nil
	}

	instances, _ := parseInstances(p.Instances, ncpu)
	dur := func(s string) time.Duration { d, _ := ParseDuration(s); return d }
	size := func(s string) int64 { n, _ := ParseSize(s); return n }

	var watch []string
	if p.Watch {
		for i, w := range p.WatchPaths {
			wp := abs(w)
			if _, err := os.Stat(wp); err != nil {
				add("watch_paths", i, "%s: no such file or folder", wp)
			}
			watch = append(watch, wp)
		}
		if len(watch) == 0 {
			watch = []string{cwd}
		}
	}

	sp := spec.Spec{
		Name:        name,
		Command:     cmd,
		Cwd:         cwd,
		Env:         env,
		Instances:   instances,
		Autorestart: spec.Policy(p.Autorestart),
		KillTimeout: dur(p.KillTimeout),
		KillSignal:  p.KillSignal,
		Backoff: spec.Backoff{
			Min:       dur(p.RestartDelay),
			Max:       dur(p.MaxRestartDelay),
			Factor:    p.RestartFactor,
			MinUptime: dur(p.MinUptime),
		},
		MaxRestarts:   p.MaxRestarts,
		RestartWindow: dur(p.RestartWindow),
		MaxMemory:     size(p.MaxMemory),
		CronRestart:   p.CronRestart,
		Mode:          p.Mode,
		Listen:        p.Listen,
		Balance:       p.Balance,
		WaitReady:     p.WaitReady,
		ReadyTCP:      p.ReadyTCP,
		ReadyHTTP:     p.ReadyHTTP,
		ListenTimeout: dur(p.ListenTimeout),
		Watchdog:      dur(p.Watchdog),
		Watch:         watch,
		WatchIgnore:   p.WatchIgnore,
		WatchDebounce: dur(p.WatchDebounce),
		Log:           spec.LogOptions{MaxSize: size(p.LogMaxSize), Keep: p.LogKeep, Gzip: p.LogGzip},
		User:          p.User,
		Group:         p.Group,
	}
	if p.Listen != "" {
		sp.Listen, _ = ParseAddress(p.Listen)
	}
	// How the instances share a port: contradictions (listen in fork mode,
	// cluster mode without a port, a probe of the shared socket) are
	// reported on the key that makes them.
	if _, _, err := sp.WithDefaults().Sharing(); err != nil {
		key := "listen"
		switch {
		case p.Mode == "cluster" && p.Listen == "":
			key = "mode"
		case p.Balance != "" && p.Listen == "":
			key = "balance"
		case strings.Contains(err.Error(), "ready_tcp"):
			key = "ready_tcp"
		case strings.Contains(err.Error(), "ready_http"):
			key = "ready_http"
		}
		_, msg, _ := strings.Cut(err.Error(), ": ")
		add(key, -1, "%s", msg)
	}
	if b := sp.Backoff; b.Min > 0 && b.Max > 0 && b.Min > b.Max {
		add("restart_delay", -1, "%s is above max_restart_delay %s", b.Min, b.Max)
	}
	return sp, issues
}

func isDir(path string) error {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("%s: no such folder", path)
	case !st.IsDir():
		return fmt.Errorf("%s: not a folder", path)
	}
	return nil
}

// command builds the argv for p (see [Resolve]). On failure it returns the
// message and the key to blame.
func command(p Process, name, baseDir string) (argv []string, msg, key string) {
	if strings.TrimSpace(p.Script) == "" {
		return nil, "missing: the program to run (a file, a command on PATH, or a shell line)", "script"
	}
	path := p.Script
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, path)
	}
	st, statErr := os.Stat(path)
	isFile := statErr == nil && st.Mode().IsRegular()
	if statErr == nil && st.IsDir() {
		return nil, fmt.Sprintf("%s is a folder, not a program", path), "script"
	}
	interp := p.Interpreter

	switch {
	case isFile && interp == "none":
		if !executable(st) {
			return nil, fmt.Sprintf("%s is not executable (chmod +x it, or set interpreter)", path), "script"
		}
		return append([]string{path}, p.Args...), "", ""
	case isFile && interp != "":
		return concat([]string{interp}, p.InterpreterArgs, []string{path}, p.Args), "", ""
	case isFile:
		ext := filepath.Ext(path)
		if in, ok := interpreterFor(ext); ok {
			return concat([]string{in}, p.InterpreterArgs, []string{path}, p.Args), "", ""
		}
		switch strings.ToLower(ext) {
		case ".ts", ".tsx", ".mts", ".cts":
			return nil, `TypeScript needs an interpreter: set interpreter = "tsx" (or "bun", "deno" with interpreter_args = ["run"], or "node" ≥ 22.18, which strips types)`, "script"
		}
		if !executable(st) {
			return nil, fmt.Sprintf("%s is not executable and no interpreter is known for %q files (chmod +x it, or set interpreter)", path, ext), "script"
		}
		if len(p.InterpreterArgs) > 0 {
			return nil, "set without an interpreter (the script runs itself)", "interpreter_args"
		}
		return append([]string{path}, p.Args...), "", ""
	}

	if IsShellLine(p.Script) {
		if interp != "" && interp != "none" {
			return nil, fmt.Sprintf("%s: no such file (a shell line cannot have an interpreter)", path), "script"
		}
		if runtime.GOOS == "windows" {
			return concat([]string{"cmd", "/C", p.Script}, p.Args), "", ""
		}
		// sh -c LINE NAME ARGS…: NAME becomes $0 and ARGS "$@".
		return concat([]string{"sh", "-c", p.Script, name}, p.Args), "", ""
	}
	if strings.ContainsRune(p.Script, '/') || strings.ContainsRune(p.Script, filepath.Separator) {
		return nil, fmt.Sprintf("%s: no such file", path), "script"
	}
	found, err := exec.LookPath(p.Script)
	if err != nil {
		return nil, fmt.Sprintf("%q is not a file in %s nor a command on PATH", p.Script, baseDir), "script"
	}
	if interp != "" && interp != "none" {
		return concat([]string{interp}, p.InterpreterArgs, []string{found}, p.Args), "", ""
	}
	return append([]string{found}, p.Args...), "", ""
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func executable(st os.FileInfo) bool {
	if runtime.GOOS == "windows" {
		switch strings.ToLower(filepath.Ext(st.Name())) {
		case ".exe", ".bat", ".cmd", ".com":
			return true
		}
		return false
	}
	return st.Mode().Perm()&0o111 != 0
}

// IsShellLine tells a shell command line ("npm run dev", "a | b") from a
// path or a bare command name.
func IsShellLine(s string) bool {
	return strings.ContainsAny(strings.TrimSpace(s), " \t\n|&;<>()$`\\\"'*?~")
}

// maxEnvFile bounds what ReadEnvFile reads.
const maxEnvFile = 1 << 20

// ReadEnvFile reads a dotenv-style file: NAME=VALUE lines, blank lines and
// # comments ignored, an optional "export " prefix, values optionally in
// single quotes (taken as is) or double quotes (with \n, \t, \" and \\
// escapes). An unquoted value ends at " #". Errors name the file and line.
func ReadEnvFile(path string) (map[string]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%s: no such file", path)
		}
		return nil, fmt.Errorf("env file: %w", err)
	}
	defer fh.Close()
	// A fifo or a device (/dev/zero) would block or never end: only read
	// regular files, and only up to a size no env file reaches.
	if st, err := fh.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxEnvFile+1))
	if err != nil {
		return nil, fmt.Errorf("env file: %w", err)
	}
	if len(data) > maxEnvFile {
		return nil, fmt.Errorf("%s: larger than %s", path, FormatSize(maxEnvFile))
	}
	m, err := ParseEnv(data)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return m, nil
}

// ParseEnv parses the contents of an env file (see [ReadEnvFile]). Its
// errors start with the line number: "3: …".
func ParseEnv(data []byte) (map[string]string, error) {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !validEnvName(k) {
			return nil, fmt.Errorf("%d: %q is not NAME=VALUE", n, sc.Text())
		}
		v = strings.TrimSpace(v)
		switch {
		case len(v) >= 2 && v[0] == '\'' && strings.HasSuffix(v, "'"):
			v = v[1 : len(v)-1]
		case len(v) >= 1 && v[0] == '"':
			uq, err := strconv.Unquote(v)
			if err != nil {
				return nil, fmt.Errorf("%d: %s: unterminated or bad double-quoted value", n, k)
			}
			v = uq
		case len(v) >= 1 && v[0] == '\'':
			return nil, fmt.Errorf("%d: %s: unterminated single-quoted value", n, k)
		default:
			if i := strings.Index(v, " #"); i >= 0 {
				v = strings.TrimSpace(v[:i])
			}
		}
		m[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return m, nil
}

func validEnvName(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
