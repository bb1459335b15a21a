package export

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

type cService struct {
	Image           string            `yaml:"image"`
	Entrypoint      []string          `yaml:"entrypoint,omitempty"`
	WorkingDir      string            `yaml:"working_dir,omitempty"`
	Environment     map[string]string `yaml:"environment,omitempty"`
	EnvFile         []string          `yaml:"env_file,omitempty"`
	Ports           []string          `yaml:"ports,omitempty"`
	Restart         string            `yaml:"restart,omitempty"`
	StopSignal      string            `yaml:"stop_signal,omitempty"`
	StopGracePeriod string            `yaml:"stop_grace_period,omitempty"`
	User            string            `yaml:"user,omitempty"`
	Deploy          *cDeploy          `yaml:"deploy,omitempty"`
	Healthcheck     *cHealth          `yaml:"healthcheck,omitempty"`
	Logging         *cLogging         `yaml:"logging,omitempty"`
}

type cDeploy struct {
	Replicas  int         `yaml:"replicas,omitempty"`
	Resources *cResources `yaml:"resources,omitempty"`
}

type cResources struct {
	Limits map[string]string `yaml:"limits"`
}

type cHealth struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval,omitempty"`
	StartPeriod string   `yaml:"start_period,omitempty"`
}

type cLogging struct {
	Driver  string            `yaml:"driver"`
	Options map[string]string `yaml:"options,omitempty"`
}

// ComposeFile is the name of the Compose file an export writes.
const ComposeFile = "compose.yaml"

// noInterp escapes $ so that Compose does not read it as a variable.
func noInterp(s string) string { return strings.ReplaceAll(s, "$", "$$") }

func noInterpAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = noInterp(s)
	}
	return out
}

// dockerSize renders bytes as Docker reads sizes (1024-based b, k, m, g).
func dockerSize(n int64) string {
	return strings.ToLower(sdSize(n))
}

func (e *exporter) compose() ([]File, []string, error) {
	// The services are in the config's order, each under its notes.
	services := &yaml.Node{Kind: yaml.MappingNode}
	var secrets []File
	for _, a := range e.apps {
		svc, secret := e.composeService(a)
		if secret != nil {
			secrets = append(secrets, *secret)
		}
		v, err := yamlNode(svc)
		if err != nil {
			return nil, nil, err
		}
		k := &yaml.Node{Kind: yaml.ScalarNode, Value: a.name, HeadComment: strings.Join(noteLines(a.notes, false), "\n")}
		services.Content = append(services.Content, k, v)
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "services"}, services}}
	head := []string{fmt.Sprintf("%s: the processes of %s, written by `velos export compose`.", ComposeFile, baseName(e.file.Path))}
	if e.o.Image == PlaceholderImage {
		head = append(head, "The image is a placeholder that fails to pull: build an image with this app under "+e.o.AppDir+" and pass --image.")
	}
	out, err := yamlStream([]doc{{comment: head, value: root}})
	if err != nil {
		return nil, nil, err
	}
	files := append([]File{{Name: ComposeFile, Content: out}}, secrets...)
	return files, []string{"docker compose -f DIR/" + ComposeFile + " up -d"}, nil
}

func (e *exporter) composeService(a *app) (cService, *File) {
	p := a.p
	svc := cService{Image: e.o.Image, Entrypoint: noInterpAll(a.argv), WorkingDir: noInterp(a.cwd)}
	env := a.env
	if a.shared && a.port > 0 {
		if _, ok := env["PORT"]; !ok {
			env = copyMap(env)
			env["PORT"] = strconv.Itoa(a.port)
		}
	}
	if len(env) > 0 {
		svc.Environment = map[string]string{}
		for k, v := range env {
			svc.Environment[k] = noInterp(v)
		}
	}
	var secret *File
	if len(a.secret) > 0 {
		name := a.name + ".env"
		svc.EnvFile = []string{name}
		var b strings.Builder
		fmt.Fprintf(&b, "# %s: env values of process %s (%s) the redaction rules call secret.\n# Keep it out of version control.\n", name, a.name, baseName(e.file.Path))
		for _, k := range sortedKeys(a.secret) {
			b.WriteString(k + "=" + envFileValue(a.secret[k]) + "\n")
		}
		secret = &File{Name: name, Content: b.String(), Secret: true}
		e.note(a, "env", strings.Join(sortedKeys(a.secret), ", "), "in "+name+" (env_file), not in "+ComposeFile+": the redaction rules call them secret")
	}
	if p.EnvFile != "" {
		e.note(a, "env_file", p.EnvFile, "read now: its variables are in "+ComposeFile+" (or the secret env file); export again when it changes")
	}

	if a.port > 0 {
		published := strconv.Itoa(a.port)
		if a.instances > 1 {
			// One host port per replica: Compose cannot publish one port twice.
			published = fmt.Sprintf("%d-%d", a.port, a.port+a.instances-1)
		}
		mapping := published + ":" + strconv.Itoa(a.port)
		if a.host != "" && a.host != "0.0.0.0" && a.host != "::" {
			h := a.host
			if strings.Contains(h, ":") {
				h = "[" + h + "]"
			}
			mapping = h + ":" + mapping
			e.note(a, "listen", p.Listen, "published on "+a.host+" of the host; inside its container the app must listen on every interface")
		}
		svc.Ports = []string{mapping}
		switch {
		case a.instances > 1:
			e.note(a, "balance", a.balance, fmt.Sprintf("not exported: Compose has no balancer; each replica publishes one host port of %s: put a proxy in front", published))
		case a.shared && a.balance == "socket":
			e.note(a, "balance", a.balance, "no socket is passed to a container (no LISTEN_FDS): the app binds PORT itself")
		}
	}

	switch a.spec.Autorestart {
	case "always":
		svc.Restart = "always"
		if p.MaxRestarts != 0 {
			e.note(a, "max_restarts", count(p.MaxRestarts), "not exported: restart: always has no limit (on-failure:N has)")
		}
	case "on-failure":
		svc.Restart = "on-failure"
		if p.MaxRestarts != 0 {
			svc.Restart += ":" + count(p.MaxRestarts)
		}
	default:
		svc.Restart = "no"
	}
	if p.RestartWindow != "" {
		e.note(a, "restart_window", p.RestartWindow, "not exported: Docker counts restarts over the container's life, not in a window")
	}
	for _, kv := range [][2]string{{"restart_delay", p.RestartDelay}, {"max_restart_delay", p.MaxRestartDelay}, {"min_uptime", p.MinUptime}, {"restart_factor", factor(p.RestartFactor)}} {
		if kv[1] != "" {
			e.note(a, kv[0], kv[1], "not exported: Docker restarts with its own backoff (100ms, doubling; reset after 10s up)")
		}
	}
	if sig := signalName(a.spec.KillSignal); sig != "SIGTERM" {
		svc.StopSignal = sig
	}
	svc.StopGracePeriod = duration(a.spec.KillTimeout)
	switch {
	case p.User != "" && p.Group != "":
		svc.User = p.User + ":" + p.Group
	case p.User != "":
		svc.User = p.User
	case p.Group != "":
		e.note(a, "group", p.Group, "not exported: Compose's user takes a user (user:group); set user too, or USER in the Dockerfile")
	}

	deploy := &cDeploy{}
	if a.instances > 1 {
		deploy.Replicas = a.instances
	}
	if strings.TrimSpace(p.Instances) == "max" {
		e.note(a, "instances", "max", fmt.Sprintf("replicas %d, the CPUs of this machine", a.instances))
	}
	if a.spec.MaxMemory > 0 {
		deploy.Resources = &cResources{Limits: map[string]string{"memory": dockerSize(a.spec.MaxMemory)}}
		e.note(a, "max_memory", p.MaxMemory, "deploy.resources.limits.memory "+dockerSize(a.spec.MaxMemory)+": the container is OOM-killed at the limit (then restart applies), where velos restarts it gracefully once RSS stays above")
	}
	if deploy.Replicas > 0 || deploy.Resources != nil {
		svc.Deploy = deploy
	}

	if a.ready != nil {
		h := &cHealth{Interval: "10s", StartPeriod: duration(listenTimeout(a))}
		if a.ready.http {
			h.Test = []string{"CMD", "curl", "-fsS", "-o", "/dev/null", noInterp(a.ready.url)}
		} else {
			host := a.ready.host
			if host == "" {
				host = "127.0.0.1"
			}
			h.Test = []string{"CMD", "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%d", host, a.ready.port)}
		}
		svc.Healthcheck = h
		tool := "curl"
		if !a.ready.http {
			tool = "bash"
		}
		e.note(a, a.ready.key, a.ready.value, "healthcheck (needs "+tool+" in the image): others can wait for it with depends_on condition service_healthy; Compose does not restart an unhealthy container")
	} else if p.ListenTimeout != "" {
		e.note(a, "listen_timeout", p.ListenTimeout, "not exported: no healthcheck to time (it needs ready_http or ready_tcp)")
	}
	if p.WaitReady {
		e.note(a, "wait_ready", "true", "not exported: Compose has no READY=1 notification; a healthcheck needs ready_http or ready_tcp")
	}
	if a.spec.Watchdog > 0 {
		e.note(a, "watchdog", p.Watchdog, "not exported: no WATCHDOG_USEC in a container, and Compose does not restart an unhealthy one")
	}
	if p.CronRestart != "" {
		e.note(a, "cron_restart", p.CronRestart, "not exported: Compose has no scheduler; run `docker compose restart "+a.name+"` from the host's cron")
	}
	if p.Watch {
		e.note(a, "watch", watchValue(p), "not exported: `docker compose watch` with a develop.watch section is the nearest, for development")
	}

	if p.LogMaxSize != "" {
		opts := map[string]string{"max-size": dockerSize(a.spec.Log.MaxSize)}
		if p.LogKeep > 0 {
			// max-file counts the file being written too.
			opts["max-file"] = strconv.Itoa(p.LogKeep + 1)
		}
		if p.LogGzip {
			opts["compress"] = "true"
		}
		svc.Logging = &cLogging{Driver: "json-file", Options: opts}
	} else {
		for _, kv := range [][2]string{{"log_keep", count(p.LogKeep)}, {"log_gzip", boolean(p.LogGzip)}} {
			if kv[1] != "" {
				e.note(a, kv[0], kv[1], "not exported: Docker's json-file driver rotates only with a max-size (log_max_size)")
			}
		}
	}
	return svc, secret
}

// envFileValue quotes a value for an env file (Compose's env_file,
// systemd's EnvironmentFile=): single quotes keep it as is, with no
// escapes and no variable expansion; a value with a single quote in it is
// double-quoted with escapes.
func envFileValue(v string) string {
	if !strings.Contains(v, "'") {
		return "'" + v + "'"
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "\n", `\n`).Replace(v) + `"`
}
