// Package export turns a velos.toml into the definitions of an orchestrator
// that already exists — Kubernetes manifests, systemd units, a Compose file —
// so that an app outgrowing one machine moves with the file it already has.
//
// Every key of [config.Process] is either mapped or listed in
// [Result.Notes] with what was done about it; the same notes are written as
// comments into the files. Nothing is dropped silently.
package export

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/core/spec"
)

// The targets.
const (
	Kubernetes = "kubernetes"
	Systemd    = "systemd"
	Compose    = "compose"
)

// Targets lists them, for help texts and enums.
var Targets = []string{Kubernetes, Systemd, Compose}

// PlaceholderImage is the image used when none is given: an uppercase
// repository is not a valid image reference, so a pull fails at once with
// an error that names the problem instead of running something else.
const PlaceholderImage = "REPLACE-ME/velos-app:set-with--image"

// DefaultImageDir is where the config file's folder is inside the image
// (Kubernetes, Compose) unless [Options.AppDir] says otherwise.
const DefaultImageDir = "/app"

// KubectlImage runs `kubectl rollout restart` in the CronJobs of
// [Options.CronJobs]; its ENTRYPOINT is kubectl.
const KubectlImage = "registry.k8s.io/kubectl:v1.36.2"

// Options say what to export and how.
type Options struct {
	// Target is kubernetes, systemd or compose.
	Target string
	// Profile is the env profile merged over env, as with velos start --env.
	Profile string
	// Image is the container image (Kubernetes, Compose); [PlaceholderImage]
	// when empty.
	Image string
	// AppDir is where the config file's folder is on the target: inside the
	// image ([DefaultImageDir] when empty) or, for systemd, on the machine
	// (the folder itself when empty). Paths under the folder are moved there.
	AppDir string
	// CronJobs makes a Kubernetes CronJob (with the RBAC it needs) run
	// `kubectl rollout restart` for cron_restart, instead of a note.
	CronJobs bool
	// CPUs is what instances = "max" means; runtime.NumCPU() when 0.
	CPUs int
	// MaskSecrets writes [insight.Redacted] in place of every secret value,
	// for output shown to a model rather than written to files.
	MaskSecrets bool
}

// File is one generated file.
type File struct {
	// Name is the file name, relative to the output folder.
	Name    string `json:"name"`
	Content string `json:"content,omitempty"`
	// Secret files hold env values the redaction rules call secret: they
	// are written with mode 0600.
	Secret bool `json:"secret,omitempty"`
}

// Note is a setting that has no exact equivalent on the target, and what
// the export did about it.
type Note struct {
	Process string `json:"process" col:"PROCESS" ai:"p"`
	Key     string `json:"key" col:"KEY" ai:"k"`
	Value   string `json:"value,omitempty" col:"VALUE" ai:"v"`
	// Done says what was done: approximated how, or not exported and why.
	Done string `json:"done" col:"DONE" ai:"done"`
}

// Result is an export.
type Result struct {
	Target string `json:"target"`
	// Config is the file exported, as named.
	Config string `json:"config"`
	Files  []File `json:"files"`
	Notes  []Note `json:"notes"`
	// Next are the commands that put the files to use; DIR stands for the
	// folder they were written to.
	Next []string `json:"next"`
}

// Stream renders the files as one text: a Kubernetes export is one YAML
// stream; other targets' files follow each other under a "# ==> NAME <=="
// comment line (one file alone is printed as is).
func (r Result) Stream() string {
	if len(r.Files) == 1 {
		return r.Files[0].Content
	}
	var b strings.Builder
	for i, f := range r.Files {
		if i > 0 {
			if r.Target == Kubernetes {
				b.WriteString("---\n")
			} else {
				b.WriteString("\n")
			}
		}
		fmt.Fprintf(&b, "# ==> %s <==\n", f.Name)
		b.WriteString(f.Content)
	}
	return b.String()
}

// Export renders every process of f for o.Target. The file is resolved as
// velos start would run it (a missing script or a bad value fails here
// too, with the same message).
func Export(f *config.File, o Options) (Result, error) {
	switch o.Target {
	case Kubernetes, Systemd, Compose:
	case "":
		return Result{}, fmt.Errorf("export: name a target: %s", strings.Join(Targets, ", "))
	default:
		return Result{}, fmt.Errorf("export: unknown target %q (want %s)", o.Target, strings.Join(Targets, ", "))
	}
	specs, err := f.Resolve(o.Profile)
	if err != nil {
		return Result{}, err
	}
	if o.CPUs <= 0 {
		o.CPUs = runtime.NumCPU()
	}
	if o.Image == "" {
		o.Image = PlaceholderImage
	}
	if o.AppDir == "" {
		o.AppDir = DefaultImageDir
		if o.Target == Systemd {
			o.AppDir = f.Dir
		}
	}
	if !strings.HasPrefix(o.AppDir, "/") && !filepath.IsAbs(o.AppDir) {
		return Result{}, fmt.Errorf("export: app dir %q is not an absolute path", o.AppDir)
	}
	if o.CronJobs && o.Target != Kubernetes {
		return Result{}, errors.New("export: cron jobs are a Kubernetes option (systemd gets timers, Compose a note)")
	}
	e := &exporter{o: o, file: f}
	for i, ent := range f.Processes {
		a, err := e.app(ent, specs[i])
		if err != nil {
			return Result{}, err
		}
		e.apps = append(e.apps, a)
	}
	res := Result{Target: o.Target, Config: f.Path}
	switch o.Target {
	case Kubernetes:
		res.Files, res.Next, err = e.kubernetes()
	case Systemd:
		res.Files, res.Next, err = e.systemd()
	case Compose:
		res.Files, res.Next, err = e.compose()
	}
	if err != nil {
		return Result{}, err
	}
	res.Notes = e.notes
	if res.Notes == nil {
		res.Notes = []Note{}
	}
	return res, nil
}

// exporter holds one export's state.
type exporter struct {
	o     Options
	file  *config.File
	apps  []*app
	notes []Note
}

// note records a setting without an exact equivalent on the target.
func (e *exporter) note(a *app, key, value, done string) {
	n := Note{Process: a.name, Key: key, Value: value, Done: done}
	e.notes = append(e.notes, n)
	a.notes = append(a.notes, n)
}

// app is one process as every target sees it.
type app struct {
	name string
	p    config.Process
	spec spec.Spec // with defaults
	argv []string  // paths moved to the app dir
	cwd  string
	// env holds the plain variables, secret those the redaction rules mask.
	env, secret map[string]string
	instances   int
	// port is what clients connect to (listen, else the PORT env var); 0 = none.
	port int
	host string // listen's host, "" for every interface
	// shared: velos binds listen once and hands it to every instance.
	shared  bool
	balance string // socket, round-robin or least-conn, when shared
	ready   *probe
	node    bool // run by node (process.send('ready'), socket balance default)
	notes   []Note
}

// probe is ready_tcp or ready_http with $PORT filled in.
type probe struct {
	key    string // ready_tcp or ready_http
	value  string // as written
	http   bool
	scheme string // http or https
	host   string
	port   int
	path   string
	url    string // ready_http with $PORT replaced
}

func (e *exporter) app(ent config.Entry, spec spec.Spec) (*app, error) {
	p := ent.Process
	a := &app{name: ent.Name, p: p, spec: spec.WithDefaults(), cwd: e.path(spec.Cwd)}
	a.instances = a.spec.Instances
	if strings.TrimSpace(p.Instances) == "max" {
		a.instances = e.o.CPUs
	}
	a.argv = e.command(p, spec.Command)
	a.node = len(a.argv) > 0 && filepath.Base(a.argv[0]) == "node"

	a.env, a.secret = map[string]string{}, map[string]string{}
	for k, v := range spec.Env {
		if Secret(k, v) {
			if e.o.MaskSecrets {
				v = insight.Redacted
			}
			a.secret[k] = v
		} else {
			a.env[k] = v
		}
	}

	envPort := 0
	if v, ok := spec.Env["PORT"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 65536 {
			envPort = n
		}
	}
	if p.Listen != "" {
		addr, err := config.ParseAddress(p.Listen)
		if err != nil {
			return nil, fmt.Errorf("export %s: listen: %w", a.name, err)
		}
		host, ps, _ := net.SplitHostPort(addr)
		a.host = host
		if ps == "$PORT" || ps == "${PORT}" {
			if envPort == 0 {
				return nil, fmt.Errorf("export %s: listen %q names $PORT, but env has no numeric PORT", a.name, p.Listen)
			}
			a.port = envPort
		} else {
			a.port, _ = strconv.Atoi(ps)
		}
		a.shared = true
	} else if envPort > 0 {
		a.port = envPort
		// A cluster with a PORT listens on it through velos, as listen would.
		a.shared = p.Mode == "cluster"
	}
	if a.shared {
		a.balance = p.Balance
		if a.balance == "" {
			a.balance = "round-robin"
			if a.node {
				a.balance = "socket"
			}
		}
	}

	var err error
	switch {
	case p.ReadyHTTP != "":
		a.ready, err = httpProbe(p.ReadyHTTP, a.port)
	case p.ReadyTCP != "":
		a.ready, err = tcpProbe(p.ReadyTCP, a.port)
	}
	if p.ReadyHTTP != "" && p.ReadyTCP != "" {
		e.note(a, "ready_tcp", p.ReadyTCP, "not exported: ready_http is the check exported (a probe has one)")
	}
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", a.name, err)
	}
	return a, nil
}

// command returns argv with paths under the config's folder moved to the
// app dir, and a command velos found on PATH given back its bare name: the
// target looks it up on its own PATH.
func (e *exporter) command(p config.Process, argv []string) []string {
	out := make([]string, len(argv))
	copy(out, argv)
	script := strings.TrimSpace(p.Script)
	if script != "" && !strings.ContainsAny(script, "/\\ \t\n|&;<>()$`\"'*?~") {
		if found, err := exec.LookPath(script); err == nil {
			for i, s := range out {
				if s == found {
					out[i] = script
					break
				}
			}
		}
	}
	for i, s := range out {
		out[i] = e.path(s)
	}
	return out
}

// path moves an absolute path under the config's folder to the app dir.
func (e *exporter) path(s string) string {
	if !filepath.IsAbs(s) {
		return s
	}
	rel, err := filepath.Rel(e.file.Dir, s)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return s
	}
	if rel == "." {
		return e.o.AppDir
	}
	return strings.TrimSuffix(e.o.AppDir, "/") + "/" + filepath.ToSlash(rel)
}

// Secret reports whether an env variable holds a secret, by the rules that
// redact output for agents ([insight.Redact]): a name like API_TOKEN or
// DB_PASSWORD, or a value with a credential in it (a URL's password, a
// token of a known shape).
func Secret(name, value string) bool {
	kv := name + "=" + value
	return insight.Redact(kv) != kv
}

// expandPort fills $PORT and ${PORT} with port.
func expandPort(s string, port int) string {
	return strings.NewReplacer("${PORT}", strconv.Itoa(port), "$PORT", strconv.Itoa(port)).Replace(s)
}

func needsPort(s string) bool { return strings.Contains(s, "$PORT") || strings.Contains(s, "${PORT}") }

func tcpProbe(s string, port int) (*probe, error) {
	if needsPort(s) && port == 0 {
		return nil, fmt.Errorf("ready_tcp %q names $PORT, but the process has no port (set listen or env PORT)", s)
	}
	addr, err := config.ParseAddress(expandPort(s, port))
	if err != nil {
		return nil, fmt.Errorf("ready_tcp: %w", err)
	}
	host, ps, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(ps)
	return &probe{key: "ready_tcp", value: s, host: host, port: n}, nil
}

func httpProbe(s string, port int) (*probe, error) {
	if needsPort(s) && port == 0 {
		return nil, fmt.Errorf("ready_http %q names $PORT, but the process has no port (set listen or env PORT)", s)
	}
	u, err := url.Parse(expandPort(strings.TrimSpace(s), port))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ready_http %q is not an http(s) URL", s)
	}
	pr := &probe{key: "ready_http", value: s, http: true, url: u.String(), scheme: u.Scheme, host: u.Hostname(), path: u.RequestURI()}
	switch ps := u.Port(); {
	case ps != "":
		pr.port, err = strconv.Atoi(ps)
		if err != nil || pr.port < 1 || pr.port > 65535 {
			return nil, fmt.Errorf("ready_http %q: port %q is not a number from 1 to 65535", s, ps)
		}
	case u.Scheme == "https":
		pr.port = 443
	default:
		pr.port = 80
	}
	return pr, nil
}

// loopback reports whether a probe's host only works inside the app's own
// network namespace (as it does in a pod or a container).
func loopback(host string) bool {
	return host == "" || host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

// seconds rounds d up to whole seconds, at least min.
func seconds(d time.Duration, min int) int {
	s := int(math.Ceil(d.Seconds()))
	if s < min {
		return min
	}
	return s
}

// duration renders d for Compose as for systemd: "3s", "100ms".
func duration(d time.Duration) string { return sdDuration(d) }

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// signalName spells a kill_signal as SIGTERM.
func signalName(s string) string {
	if s == "" {
		return spec.DefaultKillSignal
	}
	if !strings.HasPrefix(s, "SIG") {
		return "SIG" + s
	}
	return s
}
