// Package startup writes the init-system definitions that start the velos
// daemon at boot — a systemd unit, a launchd property list or an OpenRC
// script — each running `velos daemon --resurrect` in the foreground, so the
// processes saved with `velos save` come back after a reboot.
package startup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The init systems Velos writes definitions for.
const (
	Systemd = "systemd"
	Launchd = "launchd"
	OpenRC  = "openrc"
)

// Systems lists them, for help texts and enums.
var Systems = []string{Systemd, Launchd, OpenRC}

// Options say whose daemon to start and how.
type Options struct {
	// System is systemd, launchd or openrc; empty means [Detect].
	System string
	// SystemWide writes a system unit (root installs it) that runs the
	// daemon as User; otherwise a per-user unit (systemd --user, a launchd
	// agent). OpenRC has system scripts only.
	SystemWide bool
	Exe        string // absolute path of the velos binary
	Home       string // VELOS_HOME of the daemon
	User       string // account the daemon runs as
	UserHome   string // that account's home folder (user units live under it)
	Path       string // PATH given to the daemon, so children find node, python3 …
	// ConfigHome is $XDG_CONFIG_HOME, where systemd user units live under
	// systemd/user; UserHome/.config when empty.
	ConfigHome string
}

// Unit is one generated definition.
type Unit struct {
	System     string `json:"system"`
	SystemWide bool   `json:"system_wide,omitempty"`
	// Path is where it is installed.
	Path    string `json:"path"`
	Content string `json:"content"`
	// Enable are the commands that make the installed file take effect at
	// boot; Disable undo them before removal.
	Enable  []string `json:"enable"`
	Disable []string `json:"disable"`
	// Note is what else to know, if anything.
	Note string `json:"note,omitempty"`
	// Home is the VELOS_HOME whose daemon it starts.
	Home string `json:"home"`
}

// marker starts the comment line naming the VELOS_HOME a definition starts,
// so that velos touches only files it wrote for the same home.
const marker = "velos-home: "

// HomeOf returns the VELOS_HOME a definition starts, from its marker line;
// false when velos did not write it.
func HomeOf(content string) (string, bool) {
	for _, l := range strings.Split(content, "\n") {
		if i := strings.Index(l, marker); i >= 0 {
			h := strings.TrimSpace(l[i+len(marker):])
			h = strings.TrimSpace(strings.TrimSuffix(h, "-->"))
			return h, h != ""
		}
	}
	return "", false
}

// Detect names the init system of this machine: launchd on macOS, systemd
// when it is running (/run/systemd/system), OpenRC when openrc-run exists.
func Detect() (string, error) {
	if runtime.GOOS == "darwin" {
		return Launchd, nil
	}
	if fi, err := os.Stat("/run/systemd/system"); err == nil && fi.IsDir() {
		return Systemd, nil
	}
	for _, p := range []string{"/sbin/openrc-run", "/usr/sbin/openrc-run", "/sbin/openrc"} {
		if _, err := os.Stat(p); err == nil {
			return OpenRC, nil
		}
	}
	return "", errors.New("no supported init system found (systemd, launchd, openrc): name one")
}

// Generate renders the definition for o.
func Generate(o Options) (Unit, error) {
	if o.System == "" {
		s, err := Detect()
		if err != nil {
			return Unit{}, err
		}
		o.System = s
	}
	if !filepath.IsAbs(o.Exe) || o.Home == "" || o.User == "" {
		return Unit{}, fmt.Errorf("startup: need the absolute velos path, VELOS_HOME and the user (got %q, %q, %q)", o.Exe, o.Home, o.User)
	}
	switch o.System {
	case Systemd:
		return systemd(o)
	case Launchd:
		return launchd(o)
	case OpenRC:
		if !o.SystemWide {
			o.SystemWide = true // OpenRC user services are too new to rely on
		}
		return openrc(o)
	}
	return Unit{}, fmt.Errorf("startup: %q is not one of %s", o.System, strings.Join(Systems, ", "))
}

// name is the unit's name: velos for a user unit, velos-USER for a system
// one, so several users' daemons can each have one.
func (o Options) name() string {
	if o.SystemWide {
		return "velos-" + o.User
	}
	return "velos"
}

func systemd(o Options) (Unit, error) {
	u := Unit{System: Systemd, SystemWide: o.SystemWide, Home: o.Home}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by `velos startup systemd`. Starts the velos daemon and the\n")
	fmt.Fprintf(&b, "# processes saved with `velos save`.\n# %s%s\n", marker, o.Home)
	b.WriteString("[Unit]\nDescription=Velos process manager for " + sdEscape(o.User) + "\n")
	b.WriteString("Documentation=https://github.com/velos-pm/velos\n")
	b.WriteString("After=network-online.target\nWants=network-online.target\n\n")
	b.WriteString("[Service]\n")
	// notify: the daemon says READY=1 once it has resurrected and listens,
	// and WATCHDOG=1 at half of WatchdogSec.
	b.WriteString("Type=notify\nNotifyAccess=main\nWatchdogSec=30\n")
	if o.SystemWide {
		b.WriteString("User=" + sdEscape(o.User) + "\n")
		fmt.Fprintf(&b, "Environment=%s\n", sdQuote("HOME="+o.UserHome))
	}
	fmt.Fprintf(&b, "Environment=%s\n", sdQuote("VELOS_HOME="+o.Home))
	if o.Path != "" {
		fmt.Fprintf(&b, "Environment=%s\n", sdQuote("PATH="+o.Path))
	}
	fmt.Fprintf(&b, "ExecStart=%s daemon --resurrect\n", sdQuote(o.Exe))
	// mixed: the stop signal goes to the daemon alone, which stops each
	// process with its own kill_signal and kill_timeout; whatever is left
	// after TimeoutStopSec is killed.
	b.WriteString("KillMode=mixed\nTimeoutStopSec=60\n")
	b.WriteString("Restart=on-failure\nRestartSec=2\n\n")
	b.WriteString("[Install]\n")
	if o.SystemWide {
		b.WriteString("WantedBy=multi-user.target\n")
		u.Path = "/etc/systemd/system/" + o.name() + ".service"
		u.Enable = []string{"systemctl daemon-reload", "systemctl enable --now " + o.name() + ".service"}
		u.Disable = []string{"systemctl disable --now " + o.name() + ".service"}
	} else {
		b.WriteString("WantedBy=default.target\n")
		cfg := o.ConfigHome
		if cfg == "" || !filepath.IsAbs(cfg) {
			cfg = filepath.Join(o.UserHome, ".config")
		}
		u.Path = filepath.Join(cfg, "systemd", "user", o.name()+".service")
		u.Enable = []string{"systemctl --user daemon-reload", "systemctl --user enable --now " + o.name() + ".service",
			"loginctl enable-linger " + o.User}
		u.Note = "a user unit starts at boot only with lingering enabled (loginctl enable-linger); otherwise at login"
		u.Disable = []string{"systemctl --user disable --now " + o.name() + ".service"}
	}
	u.Content = b.String()
	return u, nil
}

// sdQuote quotes a value for a unit file: double quotes, with backslash,
// quote and the specifier character % escaped.
func sdQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// sdEscape escapes specifiers in an unquoted value.
func sdEscape(s string) string {
	return strings.NewReplacer("%", "%%", "\n", " ").Replace(s)
}

func launchd(o Options) (Unit, error) {
	const label = "dev.velos.daemon"
	u := Unit{System: Launchd, SystemWide: o.SystemWide, Home: o.Home}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by velos startup launchd: starts the velos daemon and the processes saved with velos save. -->
<plist version="1.0">
<dict>
`)
	fmt.Fprintf(&b, "<!-- %s%s -->\n", marker, strings.ReplaceAll(o.Home, "--", "- -"))
	kv := func(k, v string) { fmt.Fprintf(&b, "\t<key>%s</key>\n\t<string>%s</string>\n", k, xmlEscape(v)) }
	lbl := label
	if o.SystemWide {
		lbl = label + "." + o.User
	}
	kv("Label", lbl)
	b.WriteString("\t<key>ProgramArguments</key>\n\t<array>\n")
	for _, a := range []string{o.Exe, "daemon", "--resurrect"} {
		fmt.Fprintf(&b, "\t\t<string>%s</string>\n", xmlEscape(a))
	}
	b.WriteString("\t</array>\n")
	if o.SystemWide {
		kv("UserName", o.User)
	}
	b.WriteString("\t<key>EnvironmentVariables</key>\n\t<dict>\n")
	env := [][2]string{{"VELOS_HOME", o.Home}}
	if o.Path != "" {
		env = append(env, [2]string{"PATH", o.Path})
	}
	if o.SystemWide {
		env = append(env, [2]string{"HOME", o.UserHome})
	}
	for _, e := range env {
		fmt.Fprintf(&b, "\t\t<key>%s</key>\n\t\t<string>%s</string>\n", e[0], xmlEscape(e[1]))
	}
	b.WriteString("\t</dict>\n")
	b.WriteString("\t<key>RunAtLoad</key>\n\t<true/>\n")
	// Restart the daemon when it dies, not after `velos kill` (exit 0).
	b.WriteString("\t<key>KeepAlive</key>\n\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n")
	b.WriteString("\t<key>ExitTimeOut</key>\n\t<integer>60</integer>\n")
	kv("StandardOutPath", filepath.Join(o.Home, "launchd.log"))
	kv("StandardErrorPath", filepath.Join(o.Home, "launchd.log"))
	b.WriteString("</dict>\n</plist>\n")
	u.Content = b.String()
	if o.SystemWide {
		u.Path = "/Library/LaunchDaemons/" + lbl + ".plist"
		u.Enable = []string{"launchctl bootstrap system " + u.Path}
		u.Disable = []string{"launchctl bootout system/" + lbl}
	} else {
		u.Path = filepath.Join(o.UserHome, "Library", "LaunchAgents", lbl+".plist")
		u.Enable = []string{"launchctl bootstrap gui/$(id -u) " + u.Path}
		u.Disable = []string{"launchctl bootout gui/$(id -u)/" + lbl}
	}
	return u, nil
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}

func openrc(o Options) (Unit, error) {
	u := Unit{System: OpenRC, SystemWide: true, Path: "/etc/init.d/" + o.name(), Home: o.Home}
	var b strings.Builder
	b.WriteString("#!/sbin/openrc-run\n")
	b.WriteString("# Written by `velos startup openrc`: starts the velos daemon and the\n# processes saved with `velos save`.\n")
	fmt.Fprintf(&b, "# %s%s\n", marker, o.Home)
	fmt.Fprintf(&b, "name=%s\n", shQuote(o.name()))
	b.WriteString("description=\"Velos process manager\"\n")
	fmt.Fprintf(&b, "command=%s\n", shQuote(o.Exe))
	b.WriteString("command_args=\"daemon --resurrect\"\n")
	fmt.Fprintf(&b, "command_user=%s\n", shQuote(o.User))
	b.WriteString("command_background=\"yes\"\n")
	fmt.Fprintf(&b, "pidfile=%s\n", shQuote("/run/"+o.name()+".pid"))
	// The daemon stops each process gracefully within 30s; then KILL.
	b.WriteString("retry=\"TERM/60/KILL/5\"\n")
	fmt.Fprintf(&b, "output_log=%s\nerror_log=%s\n", shQuote(filepath.Join(o.Home, "openrc.log")), shQuote(filepath.Join(o.Home, "openrc.log")))
	fmt.Fprintf(&b, "export VELOS_HOME=%s\n", shQuote(o.Home))
	fmt.Fprintf(&b, "export HOME=%s\n", shQuote(o.UserHome))
	if o.Path != "" {
		fmt.Fprintf(&b, "export PATH=%s\n", shQuote(o.Path))
	}
	b.WriteString("\ndepend() {\n\tneed net\n\tafter firewall\n}\n")
	u.Content = b.String()
	u.Enable = []string{"rc-update add " + o.name() + " default", "rc-service " + o.name() + " start"}
	u.Disable = []string{"rc-service " + o.name() + " stop", "rc-update del " + o.name() + " default"}
	return u, nil
}

func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ErrNotOurs is returned when the file at a unit's path was not written by
// velos for the same VELOS_HOME: it is left alone.
var ErrNotOurs = errors.New("not written by velos for this VELOS_HOME")

// owned checks that u.Path is absent or a definition velos wrote for u.Home.
func owned(u Unit) error {
	b, err := os.ReadFile(u.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", u.Path, err)
	}
	h, ok := HomeOf(string(b))
	switch {
	case !ok:
		return fmt.Errorf("%s: %w (no %q line); left in place", u.Path, ErrNotOurs, marker)
	case h != u.Home:
		return fmt.Errorf("%s starts the daemon of VELOS_HOME=%s, not %s: %w; left in place", u.Path, h, u.Home, ErrNotOurs)
	}
	return nil
}

// Install writes u.Path atomically (the folder is created; an OpenRC script
// is made executable), replacing only a file velos wrote for u.Home. It does not run u.Enable.
func Install(u Unit) error {
	if err := owned(u); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	mode := os.FileMode(0o644)
	if u.System == OpenRC {
		mode = 0o755
	}
	dir := filepath.Dir(u.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("install %s: %w", u.Path, err)
	}
	tmp, err := os.CreateTemp(dir, ".velos-startup-*")
	if err != nil {
		return fmt.Errorf("install %s: %w", u.Path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(u.Content); err != nil {
		tmp.Close()
		return fmt.Errorf("install %s: %w", u.Path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("install %s: %w", u.Path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("install %s: %w", u.Path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("install %s: %w", u.Path, err)
	}
	if err := os.Rename(tmp.Name(), u.Path); err != nil {
		return fmt.Errorf("install %s: %w", u.Path, err)
	}
	return nil
}

// Remove deletes u.Path, if velos wrote it for u.Home. It reports whether there was a file to delete; a
// missing file is not an error.
func Remove(u Unit) (bool, error) {
	if err := owned(u); err != nil {
		return false, fmt.Errorf("remove: %w", err)
	}
	err := os.Remove(u.Path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("remove %s: %w", u.Path, err)
	}
	return true, nil
}
