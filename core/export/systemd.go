package export

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// unit builds one systemd unit file: a comment head, then sections in the
// order they are first used.
type unit struct {
	head     []string
	sections []string
	lines    map[string][]string
}

func (u *unit) set(section, key, value string) {
	if u.lines == nil {
		u.lines = map[string][]string{}
	}
	if _, ok := u.lines[section]; !ok {
		u.sections = append(u.sections, section)
	}
	u.lines[section] = append(u.lines[section], key+"="+value)
}

// comment adds a comment line to a section; a commented-out setting is
// written "#Key=value", ready to uncomment.
func (u *unit) comment(section, text string) {
	if u.lines == nil {
		u.lines = map[string][]string{}
	}
	if _, ok := u.lines[section]; !ok {
		u.sections = append(u.sections, section)
	}
	if strings.Contains(text, "=") && !strings.Contains(text, " ") {
		u.lines[section] = append(u.lines[section], "#"+text)
		return
	}
	u.lines[section] = append(u.lines[section], "# "+text)
}

func (u *unit) String() string {
	var b strings.Builder
	for _, h := range u.head {
		b.WriteString(strings.TrimRight("# "+h, " ") + "\n")
	}
	for i, s := range u.sections {
		if i > 0 || len(u.head) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("[" + s + "]\n")
		for _, l := range u.lines[s] {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// sdArgs renders argv as a systemd command line: specifiers (%) and
// variables ($) escaped, words with spaces, quotes or backslashes quoted.
func sdArgs(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		a = strings.NewReplacer("%", "%%", "$", "$$").Replace(a)
		if a == "" || a == ";" || strings.ContainsAny(a, " \t\n\"'\\") || (i == 0 && strings.ContainsAny(a[:1], "@-:+!|")) {
			a = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(a) + `"`
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// sdQuote quotes an Environment= assignment.
func sdQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "\n", `\n`).Replace(s) + `"`
}

// sdEscape escapes specifiers in a plain value (a path, a user name).
func sdEscape(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// shQuote quotes a word for sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// sdSize renders bytes for MemoryMax=: K, M, G, T are 1024-based there too.
func sdSize(n int64) string {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// sdDuration renders a time span in one unit, as systemd and Compose both
// read it: "90s", "100ms", "1500us".
func sdDuration(d time.Duration) string {
	switch {
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d%time.Millisecond == 0:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	return strconv.FormatInt(int64(d/time.Microsecond), 10) + "us"
}

// steps is how many times the wait grows by factor from min before it
// reaches max: systemd's RestartSteps= for velos's backoff.
func steps(min, max time.Duration, factor float64) int {
	if min <= 0 || max <= min || factor <= 1 {
		return 0
	}
	return int(math.Ceil(math.Log(float64(max)/float64(min)) / math.Log(factor)))
}

func (e *exporter) systemd() ([]File, []string, error) {
	var files []File
	var enable []string
	for _, a := range e.apps {
		fs, en := e.systemdApp(a)
		files = append(files, fs...)
		enable = append(enable, en...)
	}
	var units, secrets []string
	for _, f := range files {
		if f.Secret {
			secrets = append(secrets, f.Name)
		} else {
			units = append(units, "DIR/"+f.Name)
		}
	}
	next := []string{"sudo cp " + strings.Join(units, " ") + " /etc/systemd/system/"}
	for _, s := range secrets {
		next = append(next, "sudo install -D -m 600 DIR/"+s+" /etc/velos/"+s)
	}
	next = append(next, "sudo systemctl daemon-reload", "sudo systemctl enable --now "+strings.Join(enable, " "))
	return files, next, nil
}

// systemdApp renders one process: its service (a template NAME@.service
// and NAME.target for several instances), a socket unit for a shared
// socket, a timer for cron_restart, and an env file for secrets. It
// returns the files and the units to enable.
func (e *exporter) systemdApp(a *app) ([]File, []string) {
	p := a.p
	src := baseName(e.file.Path)
	template := a.instances > 1
	svc := a.name + ".service"
	if template {
		svc = a.name + "@.service"
	}
	socket := a.shared && a.balance == "socket"

	s := &unit{}
	s.set("Unit", "Description", sdEscape(a.name)+" (from "+sdEscape(src)+")")
	s.set("Unit", "After", "network-online.target")
	s.set("Unit", "Wants", "network-online.target")
	if template {
		s.set("Unit", "PartOf", a.name+".target")
	}
	if socket {
		s.set("Unit", "Requires", a.name+".socket")
		s.set("Unit", "After", a.name+".socket")
	}
	// velos marks a process errored after max_restarts within restart_window;
	// systemd stops restarting after StartLimitBurst starts in the interval.
	s.set("Unit", "StartLimitIntervalSec", sdDuration(a.spec.RestartWindow))
	s.set("Unit", "StartLimitBurst", strconv.Itoa(a.spec.MaxRestarts))

	typ := "exec"
	if p.WaitReady {
		typ = "notify"
		if a.node {
			e.note(a, "wait_ready", "true", "Type=notify: the app must send READY=1 on NOTIFY_SOCKET; process.send('ready') has no systemd equivalent")
		}
	}
	s.set("Service", "Type", typ)
	if p.WaitReady || a.spec.Watchdog > 0 {
		s.set("Service", "NotifyAccess", "all")
	}
	s.set("Service", "ExecStart", sdArgs(a.argv))
	if a.ready != nil {
		s.set("Service", "ExecStartPost", sdArgs(readyPoll(a.ready)))
		tool := "curl"
		if !a.ready.http {
			tool = "bash"
		}
		e.note(a, a.ready.key, a.ready.value, "ExecStartPost polls it every second (needs "+tool+" on the machine): the unit is started once it answers, within TimeoutStartSec")
	}
	s.set("Service", "WorkingDirectory", sdEscape(a.cwd))

	env := a.env
	if a.shared && a.balance != "socket" && a.port > 0 {
		if _, ok := env["PORT"]; !ok {
			env = copyMap(env)
			env["PORT"] = strconv.Itoa(a.port)
		}
	}
	for _, k := range sortedKeys(env) {
		s.set("Service", "Environment", sdQuote(k+"="+env[k]))
	}
	if template {
		s.set("Service", "Environment", "VELOS_INSTANCE=%i")
	}
	var secretFile *File
	if len(a.secret) > 0 {
		envName := a.name + ".env"
		s.set("Service", "EnvironmentFile", "%E/velos/"+envName)
		var b strings.Builder
		fmt.Fprintf(&b, "# %s: env values of process %s (%s) the redaction rules call secret.\n", envName, a.name, src)
		b.WriteString("# Install as /etc/velos/" + envName + " (mode 0600); keep it out of version control.\n")
		for _, k := range sortedKeys(a.secret) {
			b.WriteString(k + "=" + envFileValue(a.secret[k]) + "\n")
		}
		secretFile = &File{Name: envName, Content: b.String(), Secret: true}
		e.note(a, "env", strings.Join(sortedKeys(a.secret), ", "), "in "+envName+" (EnvironmentFile=%E/velos/"+envName+"), not in the unit: the redaction rules call them secret")
	}
	if p.EnvFile != "" {
		e.note(a, "env_file", p.EnvFile, "read now: its variables are in the unit (EnvironmentFile= would take precedence over env, the reverse of velos); export again when it changes")
	}
	if socket {
		s.set("Service", "Sockets", a.name+".socket")
	}

	restart := map[string]string{"always": "always", "on-failure": "on-failure", "never": "no"}[string(a.spec.Autorestart)]
	s.set("Service", "Restart", restart)
	b := a.spec.Backoff
	s.set("Service", "RestartSec", sdDuration(b.Min))
	if n := steps(b.Min, b.Max, b.Factor); n > 0 {
		s.comment("Service", "systemd 254 and later grow the wait as velos does; uncomment there:")
		s.comment("Service", "RestartSteps="+strconv.Itoa(n))
		s.comment("Service", "RestartMaxDelaySec="+sdDuration(b.Max))
		for _, kv := range [][2]string{{"max_restart_delay", p.MaxRestartDelay}, {"restart_factor", factor(p.RestartFactor)}} {
			if kv[1] != "" {
				e.note(a, kv[0], kv[1], "RestartSteps=/RestartMaxDelaySec= need systemd 254: they are in the unit, commented; older systemd waits RestartSec= every time")
			}
		}
	}
	if p.MinUptime != "" {
		e.note(a, "min_uptime", p.MinUptime, "not exported: systemd has no stable run that resets the wait")
	}
	if p.WaitReady || a.ready != nil {
		s.set("Service", "TimeoutStartSec", sdDuration(listenTimeout(a)))
	} else if p.ListenTimeout != "" {
		e.note(a, "listen_timeout", p.ListenTimeout, "not exported: nothing to wait for (no wait_ready, ready_http or ready_tcp)")
	}
	if a.spec.Watchdog > 0 {
		s.set("Service", "WatchdogSec", sdDuration(a.spec.Watchdog))
	}
	s.set("Service", "TimeoutStopSec", sdDuration(a.spec.KillTimeout))
	s.set("Service", "KillSignal", signalName(a.spec.KillSignal))
	if a.spec.MaxMemory > 0 {
		s.set("Service", "MemoryMax", sdSize(a.spec.MaxMemory))
		e.note(a, "max_memory", p.MaxMemory, "MemoryMax="+sdSize(a.spec.MaxMemory)+": the kernel OOM-kills the service at the limit (then Restart= applies), where velos restarts it gracefully once RSS stays above")
	}
	if p.User != "" {
		s.set("Service", "User", sdEscape(p.User))
	}
	if p.Group != "" {
		s.set("Service", "Group", sdEscape(p.Group))
	}
	if template {
		s.set("Install", "WantedBy", a.name+".target")
	} else {
		s.set("Install", "WantedBy", "multi-user.target")
	}

	if a.shared && a.balance != "socket" {
		if template {
			e.note(a, "balance", a.balance, fmt.Sprintf("not exported: systemd has no balancer; put a proxy (HAProxy, nginx) on port %d and give each instance its own PORT (systemctl edit %s@N.service)", a.port, a.name))
		} else {
			e.note(a, "balance", a.balance, fmt.Sprintf("no balancer in front of one instance: it binds PORT=%d itself", a.port))
		}
	}
	if strings.TrimSpace(p.Instances) == "max" {
		e.note(a, "instances", "max", fmt.Sprintf("%d instances, the CPUs of this machine", a.instances))
	}
	if p.Watch {
		e.note(a, "watch", watchValue(p), "not exported: a .path unit watches single paths, not folder trees; restart from your deploy step")
	}
	for _, kv := range [][2]string{{"log_max_size", p.LogMaxSize}, {"log_keep", count(p.LogKeep)}, {"log_gzip", boolean(p.LogGzip)}} {
		if kv[1] != "" {
			e.note(a, kv[0], kv[1], "not exported: journald keeps stdout and stderr (journalctl -u "+a.name+") and rotates by its own SystemMaxUse= and friends")
		}
	}

	var files []File
	type named struct {
		name, what string
		u          *unit
	}
	var units []named
	add := func(name string, u *unit, what string) { units = append(units, named{name, what, u}) }
	enable := []string{}
	if socket {
		k := &unit{}
		k.set("Unit", "Description", sdEscape(a.name)+" listening socket (from "+sdEscape(src)+")")
		listen := strconv.Itoa(a.port)
		if a.host != "" {
			listen = a.host + ":" + listen
			if strings.Contains(a.host, ":") {
				listen = "[" + a.host + "]:" + strconv.Itoa(a.port)
			}
		}
		k.set("Socket", "ListenStream", listen)
		if template {
			// Every instance inherits the socket (Sockets=); a connection
			// arriving while none runs starts the first.
			k.set("Socket", "Service", a.name+"@0.service")
		}
		k.set("Install", "WantedBy", "sockets.target")
		add(a.name+".socket", k, "the socket shared by the instances (LISTEN_FDS)")
		enable = append(enable, a.name+".socket")
	}
	add(svc, s, "the service")
	if template {
		t := &unit{}
		t.set("Unit", "Description", fmt.Sprintf("%s, %d instances (from %s)", sdEscape(a.name), a.instances, sdEscape(src)))
		var wants []string
		for i := 0; i < a.instances; i++ {
			wants = append(wants, fmt.Sprintf("%s@%d.service", a.name, i))
		}
		t.set("Unit", "Wants", strings.Join(wants, " "))
		t.set("Install", "WantedBy", "multi-user.target")
		add(a.name+".target", t, "the instances")
		enable = append(enable, a.name+".target")
	} else {
		enable = append(enable, svc)
	}
	if timerUnits := e.systemdCron(a, template); timerUnits != nil {
		add(a.name+"-restart.service", timerUnits[0], "the cron restart")
		add(a.name+"-restart.timer", timerUnits[1], "the cron_restart schedule")
		enable = append(enable, a.name+"-restart.timer")
	}
	for _, n := range units {
		n.u.head = []string{fmt.Sprintf("%s: %s of process %s in %s, written by `velos export systemd`.", n.name, n.what, a.name, src)}
		if n.u == s {
			// The service lists every note of the process, those found
			// while the other units were built included.
			n.u.head = append(n.u.head, noteLines(a.notes, false)...)
		}
		files = append(files, File{Name: n.name, Content: n.u.String()})
	}
	if secretFile != nil {
		files = append(files, *secretFile)
	}
	return files, enable
}

// readyPoll is the ExecStartPost command that waits for a readiness check.
func readyPoll(r *probe) []string {
	if r.http {
		return []string{"/bin/sh", "-c", "until curl -fsS -o /dev/null " + shQuote(r.url) + "; do sleep 1; done"}
	}
	host := r.host
	if host == "" {
		host = "127.0.0.1"
	}
	return []string{"/bin/bash", "-c", fmt.Sprintf("until (exec 3<>/dev/tcp/%s/%d) 2>/dev/null; do sleep 1; done", host, r.port)}
}

// systemdCron returns the oneshot service and the timer of cron_restart,
// or nil (with a note) when there is none or it has no systemd form.
func (e *exporter) systemdCron(a *app, template bool) []*unit {
	expr := a.p.CronRestart
	if expr == "" {
		return nil
	}
	t, why := systemdTimer(expr)
	if why != "" {
		e.note(a, "cron_restart", expr, "not exported: "+why)
		return nil
	}
	src := baseName(e.file.Path)
	svc := &unit{}
	svc.set("Unit", "Description", "Restart "+sdEscape(a.name)+" on its cron_restart schedule (from "+sdEscape(src)+")")
	svc.set("Service", "Type", "oneshot")
	if template {
		// One instance after the other, as velos restarts them: each
		// systemctl restart returns once its instance is up again.
		for i := 0; i < a.instances; i++ {
			svc.set("Service", "ExecStart", fmt.Sprintf("systemctl restart %s@%d.service", a.name, i))
		}
	} else {
		svc.set("Service", "ExecStart", "systemctl restart "+a.name+".service")
	}
	tm := &unit{}
	tm.set("Unit", "Description", "cron_restart "+sdEscape(expr)+" of "+sdEscape(a.name))
	if t.every > 0 {
		tm.set("Timer", "OnActiveSec", sdDuration(t.every))
		tm.set("Timer", "OnUnitActiveSec", sdDuration(t.every))
	} else {
		tm.comment("Timer", "cron "+expr+" in the machine's local time, as velos reads it")
		tm.set("Timer", "OnCalendar", t.calendar)
	}
	tm.set("Install", "WantedBy", "timers.target")
	return []*unit{svc, tm}
}
