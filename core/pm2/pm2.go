// Package pm2 reads PM2's process files — ecosystem files
// (ecosystem.config.js, .cjs, .mjs, .json, .yaml/.yml) and the dump.pm2 that
// `pm2 save` writes — and maps every PM2 key to the Velos key that does the
// same ([config.Process]). A key with no Velos equivalent is never dropped
// in silence: it becomes a [Note] saying what to do instead.
//
// JavaScript files are evaluated by node (as PM2 does, with require or
// import); JSON and YAML are read directly.
package pm2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/velos-pm/velos/core/config"
)

// File is a PM2 process file mapped to Velos processes.
type File struct {
	// Path is the file as named by the caller, for messages.
	Path string `json:"path"`
	// Dir is the absolute folder relative paths in Apps resolve against (the
	// file's folder), as for a velos.toml.
	Dir string `json:"dir"`
	// Apps are the file's apps in order, as Velos processes.
	Apps []config.Entry `json:"apps"`
	// Notes are the keys that did not map one to one, in file order.
	Notes []Note `json:"notes,omitempty"`
	// NoAutostart names the apps with autostart: false, which PM2 adds
	// without starting.
	NoAutostart []string `json:"no_autostart,omitempty"`
	// Dump is true for a dump.pm2 (the state `pm2 save` writes) rather than
	// an ecosystem file.
	Dump bool `json:"dump,omitempty"`
}

// Note is a PM2 key that has no one-to-one Velos key.
type Note struct {
	// App is the process the key belongs to ("" for a file-level key such
	// as deploy).
	App string `json:"app,omitempty"`
	// Key is the PM2 key, as written in the file.
	Key string `json:"key"`
	// Msg says what Velos does instead and what to do.
	Msg string `json:"msg"`
	// Unsupported: the file asks for behaviour Velos does not give, so the
	// user must act (these are the warnings). Otherwise the key needs
	// nothing in Velos: PM2 internals, PM2.io switches left off, or what
	// Velos always does.
	Unsupported bool `json:"unsupported,omitempty"`
}

// String is "app: key: msg".
func (n Note) String() string {
	if n.App == "" {
		return n.Key + ": " + n.Msg
	}
	return n.App + ": " + n.Key + ": " + n.Msg
}

// Warnings are the notes a user must act on, as "file: app: key: msg" lines.
func (f *File) Warnings() []string {
	var out []string
	for _, n := range f.Notes {
		if n.Unsupported {
			out = append(out, filepath.Base(f.Path)+": "+n.String())
		}
	}
	return out
}

// IsFile reports whether path names a file PM2 reads apps from: an ecosystem
// file (*.config.js, *.config.cjs, *.config.mjs, *.json, *.yml, *.yaml) or a
// dump (*.pm2, as ~/.pm2/dump.pm2).
func IsFile(path string) bool {
	base := strings.ToLower(filepath.Base(path))
	for _, ext := range []string{".config.js", ".config.cjs", ".config.mjs", ".json", ".yml", ".yaml", ".pm2", ".pm2.bak"} {
		if strings.HasSuffix(base, ext) {
			return true
		}
	}
	return false
}

// DefaultDump is where PM2 keeps the dump `pm2 save` writes: $PM2_HOME/dump.pm2,
// by default ~/.pm2/dump.pm2.
func DefaultDump() (string, error) {
	if h := os.Getenv("PM2_HOME"); h != "" {
		return filepath.Join(h, "dump.pm2"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("pm2 dump: %w", err)
	}
	return filepath.Join(home, ".pm2", "dump.pm2"), nil
}

// Options tune [Load].
type Options struct {
	// Cwd is the folder node runs a JavaScript file in (process.cwd() inside
	// it), as PM2 runs it in the shell's folder; default the file's folder.
	Cwd string
	// Node is the node executable (default: node on PATH).
	Node string
	// CPUs is the number of CPUs instances = -1 counts from (default: this
	// machine's).
	CPUs int
}

// nodeTimeout bounds the evaluation of a JavaScript file: one that never
// ends must not hang velos start.
const nodeTimeout = 15 * time.Second

// Load reads the PM2 file at path (see [IsFile]) and maps its apps.
func Load(ctx context.Context, path string, o Options) (*File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st, err := os.Stat(abs); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file", path)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	base := strings.ToLower(filepath.Base(abs))
	var raw any
	switch {
	case strings.HasSuffix(base, ".js"), strings.HasSuffix(base, ".cjs"), strings.HasSuffix(base, ".mjs"):
		raw, err = evalJS(ctx, abs, o)
	default:
		data, rerr := os.ReadFile(abs)
		if rerr != nil {
			return nil, fmt.Errorf("%s: %w", path, rerr)
		}
		raw, err = decode(ctx, abs, data, o)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return convert(path, filepath.Dir(abs), raw, isDump(base), o)
}

// Parse maps the contents of a JSON, YAML or dump file named name (its
// folder is where relative paths resolve). JavaScript needs [Load].
func Parse(name string, data []byte, o Options) (*File, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	raw, err := decode(context.Background(), abs, data, Options{Node: "-"})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return convert(name, filepath.Dir(abs), raw, isDump(strings.ToLower(filepath.Base(name))), o)
}

func isDump(base string) bool {
	return strings.HasSuffix(base, ".pm2") || strings.HasSuffix(base, ".pm2.bak")
}

// decode reads JSON or YAML. A JSON file PM2 would read but Go's decoder
// does not (PM2 evaluates it as a JavaScript expression: comments, unquoted
// keys, trailing commas) is evaluated by node the same way.
func decode(ctx context.Context, abs string, data []byte, o Options) (any, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	base := strings.ToLower(filepath.Base(abs))
	if strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".yaml") {
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("YAML: %w", err)
		}
		return v, nil
	}
	var v any
	err := json.Unmarshal(data, &v)
	if err == nil {
		return v, nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		err = fmt.Errorf("JSON, line %d: %w", line, err)
	}
	if isDump(base) || o.Node == "-" {
		return nil, err
	}
	// PM2 reads .json as a JavaScript expression; do the same before giving up.
	node, lerr := nodePath(o)
	if lerr != nil {
		return nil, err
	}
	v, nerr := runNode(ctx, node, filepath.Dir(abs), nodeExpr, abs)
	if nerr != nil {
		return nil, fmt.Errorf("%w (and as a JavaScript expression, as PM2 reads it: %v)", err, nerr)
	}
	return v, nil
}

// nodeImport prints the file's export as JSON. import() reads CommonJS
// (module.exports = …, as default), .cjs and ES modules (export default …)
// alike; a module without a default export gives its named exports.
const nodeImport = `const {pathToFileURL} = require('url');
import(pathToFileURL(process.argv[1]).href).then((m) => {
  const c = m.default !== undefined ? m.default : Object.assign({}, m);
  process.stdout.write(JSON.stringify(c === undefined ? null : c));
}).catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`

// nodeExpr evaluates a JSON-like file as PM2 does: as one JavaScript expression.
const nodeExpr = `const fs = require('fs'), vm = require('vm');
try {
  const c = vm.runInNewContext('(' + fs.readFileSync(process.argv[1], 'utf8') + ')', {}, {timeout: 1000});
  process.stdout.write(JSON.stringify(c === undefined ? null : c));
} catch (e) { process.stderr.write(String(e && e.message || e)); process.exit(1); }`

func nodePath(o Options) (string, error) {
	if o.Node != "" && o.Node != "-" {
		return o.Node, nil
	}
	p, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New("a JavaScript ecosystem file is read with node, and node is not on PATH: install Node.js, or write the apps as ecosystem.json or ecosystem.yaml")
	}
	return p, nil
}

func evalJS(ctx context.Context, abs string, o Options) (any, error) {
	node, err := nodePath(o)
	if err != nil {
		return nil, err
	}
	cwd := o.Cwd
	if cwd == "" {
		cwd = filepath.Dir(abs)
	}
	return runNode(ctx, node, cwd, nodeImport, abs)
}

func runNode(ctx context.Context, node, cwd, script, file string) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "-e", script, file)
	cmd.Dir = cwd
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("node did not finish reading it within %s", nodeTimeout)
		}
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		// The first lines of a stack say what is wrong; the rest is node's.
		if lines := strings.Split(msg, "\n"); len(lines) > 6 {
			msg = strings.Join(lines[:6], "\n")
		}
		return nil, fmt.Errorf("node could not read it: %s", msg)
	}
	var v any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		return nil, fmt.Errorf("node printed no JSON: %w", err)
	}
	return v, nil
}

// convert finds the apps in a decoded file, in the forms PM2 accepts: an
// object with apps (a list or one app) or pm2, a list of apps, or one app.
func convert(name, dir string, raw any, dump bool, o Options) (*File, error) {
	f := &File{Path: name, Dir: dir, Dump: dump}
	if o.CPUs <= 0 {
		o.CPUs = cpus()
	}
	var apps []any
	raw = normalize(raw)
	switch v := raw.(type) {
	case []any:
		apps = v
	case map[string]any:
		switch {
		case v["apps"] != nil:
			apps = asList(v["apps"])
		case v["pm2"] != nil:
			apps = asList(v["pm2"])
		case v["script"] != nil || v["exec"] != nil || v["cmd"] != nil || v["command"] != nil:
			apps = []any{v} // one app, not a file of apps
		}
		for _, k := range sortedKeys(v) {
			if len(apps) == 1 && v["apps"] == nil && v["pm2"] == nil {
				break
			}
			switch k {
			case "apps", "pm2":
			case "deploy":
				f.Notes = append(f.Notes, Note{Key: k, Unsupported: true,
					Msg: "pm2 deploy is not supported: deploy with your CI/CD or git, then velos reload velos.toml on the host"})
			case "static":
				f.Notes = append(f.Notes, Note{Key: k, Unsupported: true,
					Msg: `pm2 serve is not supported: run a static file server as a process, e.g. script = "python3 -m http.server 8080"`})
			default:
				f.Notes = append(f.Notes, Note{Key: k, Unsupported: true, Msg: "not a PM2 ecosystem key (PM2 ignores it too)"})
			}
		}
	case nil:
	default:
		return nil, fmt.Errorf("want an object with apps, or a list of apps; got %s", describe(raw))
	}
	if len(apps) == 0 {
		return nil, errors.New("no apps (PM2 reads them from apps: [{name, script, …}])")
	}
	var probs []config.Problem
	if dump {
		apps, probs = groupInstances(apps)
	}
	seen := map[string]int{}
	for i, a := range apps {
		m, ok := a.(map[string]any)
		if !ok {
			probs = append(probs, config.Problem{Key: fmt.Sprintf("apps[%d]", i), Msg: "want an object {name, script, …}, got " + describe(a)})
			continue
		}
		c := newApp(i, m, dir, dump, o)
		c.convert()
		probs = append(probs, c.probs...)
		f.Notes = append(f.Notes, c.notes...)
		if len(c.probs) > 0 {
			continue
		}
		if j, dup := seen[c.name]; dup {
			probs = append(probs, config.Problem{Key: c.name, Msg: fmt.Sprintf("apps[%d] and apps[%d] are both named %q; names must be unique", j, i, c.name)})
			continue
		}
		seen[c.name] = i
		if b, ok := c.raw["autostart"].(bool); ok && !b {
			f.NoAutostart = append(f.NoAutostart, c.name)
		}
		f.Apps = append(f.Apps, config.Entry{Name: c.name, Process: c.p})
	}
	if len(probs) > 0 {
		for i := range probs {
			probs[i].File = name
		}
		return nil, &config.Error{Problems: probs}
	}
	return f, nil
}

// groupInstances folds a dump's entries — one per instance, each with the
// same name — into one app with instances = their count.
func groupInstances(apps []any) ([]any, []config.Problem) {
	var out []any
	index := map[string]int{}
	for _, a := range apps {
		m, ok := a.(map[string]any)
		if !ok {
			out = append(out, a)
			continue
		}
		name, _ := m["name"].(string)
		if i, ok := index[name]; ok && name != "" {
			prev := out[i].(map[string]any)
			prev["instances"] = toFloat(prev["instances"]) + 1
			continue
		}
		cp := make(map[string]any, len(m)+1)
		for k, v := range m {
			cp[k] = v
		}
		cp["instances"] = 1.0
		index[name] = len(out)
		out = append(out, cp)
	}
	return out, nil
}

func toFloat(v any) float64 {
	f, _ := v.(float64)
	return f
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// describe names a decoded value's type for messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("a boolean (%v)", x)
	case float64, int, int64:
		return fmt.Sprintf("a number (%v)", x)
	case string:
		return fmt.Sprintf("a string (%q)", x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
