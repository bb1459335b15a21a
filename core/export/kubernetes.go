package export

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/velos-pm/velos/core/config"
)

// The Kubernetes objects are small mirrors of the k8s.io/api types (the
// fields Velos sets, under the same names): the real types would cost the
// binary megabytes. A test decodes the output strictly into the real ones.

type meta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels,omitempty"`
}

type kObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   meta   `yaml:"metadata"`
	// One of these, by kind.
	Type       string            `yaml:"type,omitempty"`
	Data       map[string]string `yaml:"data,omitempty"`
	StringData map[string]string `yaml:"stringData,omitempty"`
	Rules      []kRule           `yaml:"rules,omitempty"`
	RoleRef    *kRoleRef         `yaml:"roleRef,omitempty"`
	Subjects   []kSubject        `yaml:"subjects,omitempty"`
	Spec       any               `yaml:"spec,omitempty"`
}

type kRule struct {
	APIGroups     []string `yaml:"apiGroups"`
	Resources     []string `yaml:"resources"`
	ResourceNames []string `yaml:"resourceNames,omitempty"`
	Verbs         []string `yaml:"verbs"`
}

type kRoleRef struct {
	APIGroup string `yaml:"apiGroup"`
	Kind     string `yaml:"kind"`
	Name     string `yaml:"name"`
}

type kSubject struct {
	Kind string `yaml:"kind"`
	Name string `yaml:"name"`
}

type kDeploymentSpec struct {
	Replicas int          `yaml:"replicas"`
	Selector kSelector    `yaml:"selector"`
	Template kPodTemplate `yaml:"template"`
}

type kSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type kPodTemplate struct {
	Metadata kPodMeta `yaml:"metadata"`
	Spec     kPodSpec `yaml:"spec"`
}

type kPodMeta struct {
	Labels map[string]string `yaml:"labels,omitempty"`
}

type kPodSpec struct {
	ServiceAccountName            string        `yaml:"serviceAccountName,omitempty"`
	RestartPolicy                 string        `yaml:"restartPolicy,omitempty"`
	TerminationGracePeriodSeconds *int          `yaml:"terminationGracePeriodSeconds,omitempty"`
	SecurityContext               *kPodSecurity `yaml:"securityContext,omitempty"`
	Containers                    []kContainer  `yaml:"containers"`
}

type kPodSecurity struct {
	RunAsUser  *int64 `yaml:"runAsUser,omitempty"`
	RunAsGroup *int64 `yaml:"runAsGroup,omitempty"`
}

type kContainer struct {
	Name           string      `yaml:"name"`
	Image          string      `yaml:"image"`
	Command        []string    `yaml:"command,omitempty"`
	Args           []string    `yaml:"args,omitempty"`
	WorkingDir     string      `yaml:"workingDir,omitempty"`
	EnvFrom        []kEnvFrom  `yaml:"envFrom,omitempty"`
	Ports          []kPort     `yaml:"ports,omitempty"`
	Resources      *kResources `yaml:"resources,omitempty"`
	StartupProbe   *kProbe     `yaml:"startupProbe,omitempty"`
	ReadinessProbe *kProbe     `yaml:"readinessProbe,omitempty"`
	LivenessProbe  *kProbe     `yaml:"livenessProbe,omitempty"`
}

type kEnvFrom struct {
	ConfigMapRef *kRef `yaml:"configMapRef,omitempty"`
	SecretRef    *kRef `yaml:"secretRef,omitempty"`
}

type kRef struct {
	Name string `yaml:"name"`
}

type kPort struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
}

type kResources struct {
	Limits map[string]string `yaml:"limits"`
}

type kProbe struct {
	HTTPGet          *kHTTPGet `yaml:"httpGet,omitempty"`
	TCPSocket        *kTCP     `yaml:"tcpSocket,omitempty"`
	PeriodSeconds    int       `yaml:"periodSeconds,omitempty"`
	FailureThreshold int       `yaml:"failureThreshold,omitempty"`
}

type kHTTPGet struct {
	Path   string `yaml:"path"`
	Port   int    `yaml:"port"`
	Scheme string `yaml:"scheme,omitempty"`
}

type kTCP struct {
	Port int `yaml:"port"`
}

type kServiceSpec struct {
	Selector map[string]string `yaml:"selector"`
	Ports    []kServicePort    `yaml:"ports"`
}

type kServicePort struct {
	Name       string `yaml:"name"`
	Port       int    `yaml:"port"`
	TargetPort string `yaml:"targetPort"`
}

type kCronJobSpec struct {
	Schedule          string       `yaml:"schedule"`
	ConcurrencyPolicy string       `yaml:"concurrencyPolicy"`
	JobTemplate       kJobTemplate `yaml:"jobTemplate"`
}

type kJobTemplate struct {
	Spec kJobSpec `yaml:"spec"`
}

type kJobSpec struct {
	BackoffLimit int          `yaml:"backoffLimit"`
	Template     kPodTemplate `yaml:"template"`
}

// portName names the container port the Service targets.
const portName = "listen"

// kubeName turns a process name into a Kubernetes object name (an RFC 1035
// label: lower case letters, digits and '-', starting with a letter, at
// most 63 characters).
func kubeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "-")
	if n == "" || n[0] < 'a' || n[0] > 'z' {
		n = "app-" + n
	}
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-")
	}
	return n
}

// quantity renders bytes as a Kubernetes quantity in binary units.
func quantity(n int64) string {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"Ti", 40}, {"Gi", 30}, {"Mi", 20}, {"Ki", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func (e *exporter) kubernetes() ([]File, []string, error) {
	seen := map[string]string{}
	var files []File
	var cron []string
	for _, a := range e.apps {
		name := kubeName(a.name)
		if other, ok := seen[name]; ok {
			return nil, nil, fmt.Errorf("export: processes %q and %q both become the Kubernetes name %q: rename one", other, a.name, name)
		}
		seen[name] = a.name
		if name != a.name {
			e.note(a, "name", a.name, fmt.Sprintf("objects are named %s (Kubernetes names are lower case letters, digits and '-')", name))
		}
		docs, hasCron := e.kubeApp(a, name)
		if hasCron {
			cron = append(cron, name)
		}
		head := []string{
			fmt.Sprintf("%s.yaml: process %s of %s, written by `velos export kubernetes`.", name, a.name, baseName(e.file.Path)),
			"Apply with: kubectl apply -f " + name + ".yaml",
		}
		if e.o.Image == PlaceholderImage {
			head = append(head, "The image is a placeholder that fails to pull: build an image with this app under "+e.o.AppDir+" and pass --image.")
		}
		if lines := noteLines(a.notes, false); lines != nil {
			head = append(append(head, ""), lines...)
		}
		docs[0].comment = append(head, docs[0].comment...)
		out, err := yamlStream(docs)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, File{Name: name + ".yaml", Content: out, Secret: len(a.secret) > 0})
	}
	next := []string{"kubectl apply -f DIR"}
	for _, n := range cron {
		next = append(next, "kubectl create job --from=cronjob/"+n+"-restart "+n+"-restart-now   # try the cron restart once")
	}
	return files, next, nil
}

// kubeApp renders one process's objects: ConfigMap, Secret, Deployment,
// Service, and with CronJobs the restart CronJob and its RBAC.
func (e *exporter) kubeApp(a *app, name string) ([]doc, bool) {
	labels := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "velos"}
	selector := map[string]string{"app.kubernetes.io/name": name}
	md := meta{Name: name, Labels: labels}
	p := a.p
	var docs []doc

	env := a.env
	if a.port > 0 && a.shared {
		if _, ok := env["PORT"]; !ok {
			env = copyMap(env)
			env["PORT"] = strconv.Itoa(a.port)
		}
	}
	c := kContainer{Name: name, Image: e.o.Image, Command: a.argv, WorkingDir: a.cwd}
	if len(env) > 0 {
		docs = append(docs, doc{value: kObject{APIVersion: "v1", Kind: "ConfigMap", Metadata: meta{Name: name + "-env", Labels: labels}, Data: env}})
		c.EnvFrom = append(c.EnvFrom, kEnvFrom{ConfigMapRef: &kRef{Name: name + "-env"}})
	}
	if len(a.secret) > 0 {
		docs = append(docs, doc{
			comment: []string{"Env values the redaction rules call secret. Keep this file out of version control."},
			value:   kObject{APIVersion: "v1", Kind: "Secret", Metadata: meta{Name: name + "-secret", Labels: labels}, Type: "Opaque", StringData: a.secret},
		})
		c.EnvFrom = append(c.EnvFrom, kEnvFrom{SecretRef: &kRef{Name: name + "-secret"}})
		e.note(a, "env", strings.Join(sortedKeys(a.secret), ", "), "in Secret "+name+"-secret (the redaction rules call them secret); the rest of env is in ConfigMap "+name+"-env")
	}
	if p.EnvFile != "" {
		e.note(a, "env_file", p.EnvFile, "read now: its variables are in the ConfigMap/Secret; export again when it changes")
	}

	if a.port > 0 {
		c.Ports = []kPort{{Name: portName, ContainerPort: a.port}}
		if a.host != "" && a.host != "0.0.0.0" && a.host != "::" {
			e.note(a, "listen", p.Listen, "a Service reaches the pod's own address: the app must listen on every interface, not "+a.host)
		}
		if a.shared {
			switch a.balance {
			case "socket":
				e.note(a, "balance", a.balance, "no socket is passed in a pod (no LISTEN_FDS): the app must bind PORT itself; the Service spreads connections over the pods")
			default:
				e.note(a, "balance", a.balance, "the Service spreads connections over the pods (kube-proxy's mode decides how; IPVS can do rr or lc)")
			}
		}
	}
	if a.spec.MaxMemory > 0 {
		c.Resources = &kResources{Limits: map[string]string{"memory": quantity(a.spec.MaxMemory)}}
		e.note(a, "max_memory", p.MaxMemory, "resources.limits.memory "+quantity(a.spec.MaxMemory)+": the container is OOM-killed at the limit and restarted, where velos restarts it gracefully once RSS stays above")
	}
	if a.ready != nil {
		h := kProbe{}
		if a.ready.http {
			h.HTTPGet = &kHTTPGet{Path: a.ready.path, Port: a.ready.port}
			if a.ready.scheme == "https" {
				h.HTTPGet.Scheme = "HTTPS"
			}
		} else {
			h.TCPSocket = &kTCP{Port: a.ready.port}
		}
		if !loopback(a.ready.host) {
			e.note(a, a.ready.key, a.ready.value, "the probe checks the pod's own address, not "+a.ready.host)
		}
		// listen_timeout is how long a start may take to become ready: a
		// startup probe that fails the container after that long.
		start := h
		start.PeriodSeconds = 1
		start.FailureThreshold = seconds(listenTimeout(a), 1)
		c.StartupProbe = &start
		ready := h
		c.ReadinessProbe = &ready
		if a.spec.Watchdog > 0 {
			live := h
			live.PeriodSeconds = seconds(a.spec.Watchdog/2, 1)
			live.FailureThreshold = 2
			c.LivenessProbe = &live
			e.note(a, "watchdog", p.Watchdog, "no WATCHDOG_USEC in a pod: a livenessProbe on "+a.ready.key+" restarts the container after about "+p.Watchdog+" of failed checks instead")
		}
	} else {
		if p.ListenTimeout != "" {
			e.note(a, "listen_timeout", p.ListenTimeout, "not exported: there is no probe to time (it needs ready_http or ready_tcp)")
		}
		if a.spec.Watchdog > 0 {
			e.note(a, "watchdog", p.Watchdog, "not exported: no WATCHDOG_USEC in a pod; the nearest is a livenessProbe, which needs ready_http or ready_tcp")
		}
	}
	if p.WaitReady {
		done := "not exported: Kubernetes has no READY=1 notification; a readinessProbe needs ready_http or ready_tcp"
		if a.ready != nil {
			done = "not exported: Kubernetes has no READY=1 notification; the probes on " + a.ready.key + " decide readiness"
		}
		e.note(a, "wait_ready", "true", done)
	}

	grace := seconds(a.spec.KillTimeout, 0)
	pod := kPodSpec{TerminationGracePeriodSeconds: &grace, Containers: []kContainer{c}}
	if a.spec.KillTimeout%1e9 != 0 {
		e.note(a, "kill_timeout", p.KillTimeout, fmt.Sprintf("terminationGracePeriodSeconds %d (whole seconds)", grace))
	}
	if sig := signalName(a.spec.KillSignal); sig != "SIGTERM" {
		e.note(a, "kill_signal", p.KillSignal, "Kubernetes stops a container with the image's STOPSIGNAL (default SIGTERM): put STOPSIGNAL "+sig+" in the Dockerfile")
	}
	e.kubeUser(a, &pod)
	e.kubeRestartNotes(a)
	e.kubeOtherNotes(a)

	replicas := a.instances
	if strings.TrimSpace(p.Instances) == "max" {
		e.note(a, "instances", "max", fmt.Sprintf("replicas %d, the CPUs of this machine: scale with kubectl scale or a HorizontalPodAutoscaler", replicas))
	}
	docs = append(docs, doc{value: kObject{APIVersion: "apps/v1", Kind: "Deployment", Metadata: md,
		Spec: kDeploymentSpec{Replicas: replicas, Selector: kSelector{MatchLabels: selector},
			Template: kPodTemplate{Metadata: kPodMeta{Labels: labels}, Spec: pod}}}})
	if a.port > 0 {
		docs = append(docs, doc{value: kObject{APIVersion: "v1", Kind: "Service", Metadata: md,
			Spec: kServiceSpec{Selector: selector, Ports: []kServicePort{{Name: portName, Port: a.port, TargetPort: portName}}}}})
	}
	cron := e.kubeCron(a, name, labels)
	docs = append(docs, cron...)
	return docs, len(cron) > 0
}

// defaultListenTimeout is velos's wait for readiness when listen_timeout is unset.
const defaultListenTimeout = 30 * time.Second

// listenTimeout is the readiness wait, with velos's default.
func listenTimeout(a *app) time.Duration {
	if a.spec.ListenTimeout > 0 {
		return a.spec.ListenTimeout
	}
	return defaultListenTimeout
}

func (e *exporter) kubeUser(a *app, pod *kPodSpec) {
	p := a.p
	sc := &kPodSecurity{}
	for _, x := range []struct {
		key, v string
		dst    **int64
	}{{"user", p.User, &sc.RunAsUser}, {"group", p.Group, &sc.RunAsGroup}} {
		if x.v == "" {
			continue
		}
		if id, err := strconv.ParseInt(x.v, 10, 64); err == nil && id >= 0 {
			*x.dst = &id
			continue
		}
		e.note(a, x.key, x.v, "not exported: runAs"+map[string]string{"user": "User", "group": "Group"}[x.key]+" takes a numeric id; set USER in the Dockerfile or the id here")
	}
	if sc.RunAsUser != nil || sc.RunAsGroup != nil {
		pod.SecurityContext = sc
	}
}

func (e *exporter) kubeRestartNotes(a *app) {
	p := a.p
	if a.spec.Autorestart != "always" {
		e.note(a, "autorestart", p.Autorestart, "not exported: a Deployment restarts its containers whatever their exit (a Job runs to completion, if that is what this is)")
	}
	for _, kv := range [][2]string{{"restart_delay", p.RestartDelay}, {"max_restart_delay", p.MaxRestartDelay}, {"min_uptime", p.MinUptime}, {"restart_factor", factor(p.RestartFactor)}} {
		if kv[1] != "" {
			e.note(a, kv[0], kv[1], "not exported: the kubelet restarts with its own backoff (10s, doubling, at most 5m)")
		}
	}
	for _, kv := range [][2]string{{"max_restarts", count(p.MaxRestarts)}, {"restart_window", p.RestartWindow}} {
		if kv[1] != "" {
			e.note(a, kv[0], kv[1], "not exported: the kubelet never gives up on a crashing container (CrashLoopBackOff)")
		}
	}
}

// kubeOtherNotes covers the keys that concern the machine velos runs on.
func (e *exporter) kubeOtherNotes(a *app) {
	p := a.p
	if p.Watch {
		e.note(a, "watch", watchValue(p), "not exported: build and roll out a new image instead (kubectl rollout restart)")
	}
	for _, kv := range [][2]string{{"log_max_size", p.LogMaxSize}, {"log_keep", count(p.LogKeep)}, {"log_gzip", boolean(p.LogGzip)}} {
		if kv[1] != "" {
			e.note(a, kv[0], kv[1], "not exported: the kubelet rotates container logs by the node's containerLogMaxSize and containerLogMaxFiles")
		}
	}
}

func (e *exporter) kubeCron(a *app, name string, labels map[string]string) []doc {
	expr := a.p.CronRestart
	if expr == "" {
		return nil
	}
	if !e.o.CronJobs {
		e.note(a, "cron_restart", expr, "not exported: run `kubectl rollout restart deployment/"+name+"` on that schedule, or export with --cron-jobs for a CronJob that does")
		return nil
	}
	sched, why := kubeSchedule(expr)
	if why != "" {
		e.note(a, "cron_restart", expr, "not exported: "+why)
		return nil
	}
	e.note(a, "cron_restart", expr, "CronJob "+name+"-restart runs kubectl rollout restart in the cluster's time zone (velos used its own machine's): set spec.timeZone if they differ")
	rn := name + "-restart"
	return []doc{
		{comment: []string{"cron_restart: a CronJob restarts the Deployment, with only the rights that needs."},
			value: kObject{APIVersion: "v1", Kind: "ServiceAccount", Metadata: meta{Name: rn, Labels: labels}}},
		{value: kObject{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role", Metadata: meta{Name: rn, Labels: labels},
			Rules: []kRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{name}, Verbs: []string{"get", "patch"}}}}},
		{value: kObject{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding", Metadata: meta{Name: rn, Labels: labels},
			RoleRef: &kRoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: rn}, Subjects: []kSubject{{Kind: "ServiceAccount", Name: rn}}}},
		{value: kObject{APIVersion: "batch/v1", Kind: "CronJob", Metadata: meta{Name: rn, Labels: labels},
			Spec: kCronJobSpec{Schedule: sched, ConcurrencyPolicy: "Forbid", JobTemplate: kJobTemplate{Spec: kJobSpec{BackoffLimit: 2,
				Template: kPodTemplate{Metadata: kPodMeta{Labels: map[string]string{"app.kubernetes.io/name": rn, "app.kubernetes.io/managed-by": "velos"}},
					Spec: kPodSpec{ServiceAccountName: rn, RestartPolicy: "Never",
						Containers: []kContainer{{Name: "kubectl", Image: KubectlImage, Args: []string{"rollout", "restart", "deployment/" + name}}}}}}}}}},
	}
}

// kubeSchedule turns a velos cron expression into a CronJob schedule, or
// says why it cannot: CronJobs take 5 fields and the descriptors except
// @every.
func kubeSchedule(expr string) (string, string) {
	t := strings.TrimSpace(expr)
	if strings.HasPrefix(t, "@") {
		switch t {
		case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly":
			return t, ""
		}
		return "", "a CronJob schedule has no " + strings.Fields(t)[0] + "; write it as 5 cron fields"
	}
	if len(strings.Fields(t)) != 5 {
		return "", "a CronJob schedule has minutes, not seconds: write it as 5 cron fields"
	}
	if err := config.CheckCron(t); err != nil {
		return "", err.Error()
	}
	return t, ""
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// baseName is the config's file name, for comments: the files should not
// carry the exporting machine's folders.
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func factor(f float64) string {
	if f == 0 {
		return ""
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func count(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func boolean(b bool) string {
	if !b {
		return ""
	}
	return "true"
}

func watchValue(p config.Process) string {
	if len(p.WatchPaths) == 0 {
		return "true"
	}
	return strings.Join(p.WatchPaths, ", ")
}
