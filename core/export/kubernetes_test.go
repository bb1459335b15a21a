package export

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	kyaml "sigs.k8s.io/yaml"
)

// decodeStrict reads a YAML stream as the API server reads a manifest:
// YAML to JSON (duplicate keys fail), then case-sensitive JSON with unknown
// fields refused (sigs.k8s.io/json, what apimachinery's strict decoding
// uses), into the official k8s.io/api type of each document's kind.
func decodeStrict(stream string) ([]any, error) {
	dec := yaml.NewDecoder(strings.NewReader(stream))
	var objs []any
	for i := 1; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		raw, err := yaml.Marshal(&n)
		if err != nil {
			return nil, err
		}
		j, err := kyaml.YAMLToJSONStrict(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		var tm struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := kjson.UnmarshalCaseSensitivePreserveInts(j, &tm); err != nil {
			return nil, err
		}
		var obj any
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			obj = &appsv1.Deployment{}
		case "v1 Service":
			obj = &corev1.Service{}
		case "v1 ConfigMap":
			obj = &corev1.ConfigMap{}
		case "v1 Secret":
			obj = &corev1.Secret{}
		case "v1 ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "rbac.authorization.k8s.io/v1 Role":
			obj = &rbacv1.Role{}
		case "rbac.authorization.k8s.io/v1 RoleBinding":
			obj = &rbacv1.RoleBinding{}
		case "batch/v1 CronJob":
			obj = &batchv1.CronJob{}
		default:
			return nil, fmt.Errorf("document %d: unexpected %s %s", i, tm.APIVersion, tm.Kind)
		}
		strict, err := kjson.UnmarshalStrict(j, obj, kjson.DisallowUnknownFields)
		if err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i, tm.Kind, err)
		}
		if len(strict) > 0 {
			return nil, fmt.Errorf("document %d (%s): %v", i, tm.Kind, strict)
		}
		objs = append(objs, obj)
	}
}

func TestKubernetesDecodesStrictly(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := options(c.name, Kubernetes)
			o.CronJobs = true
			r := exportCase(t, c.name, c.config, Kubernetes, o)
			objs, err := decodeStrict(r.Stream())
			if err != nil {
				t.Fatalf("%v\n%s", err, r.Stream())
			}
			checkObjects(t, objs)
		})
	}
}

// checkObjects checks what decoding alone does not: names, labels and
// references as the API server validates them (apimachinery's own
// validation functions), and that the parts refer to each other.
func checkObjects(t *testing.T, objs []any) {
	t.Helper()
	configMaps, secrets := map[string]*corev1.ConfigMap{}, map[string]bool{}
	var deployments []*appsv1.Deployment
	var services []*corev1.Service
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.ConfigMap:
			configMaps[o.Name] = o
			for k := range o.Data {
				if errs := validation.IsEnvVarName(k); len(errs) > 0 {
					t.Errorf("ConfigMap %s key %s: %v", o.Name, k, errs)
				}
			}
		case *corev1.Secret:
			secrets[o.Name] = true
		case *appsv1.Deployment:
			deployments = append(deployments, o)
		case *corev1.Service:
			services = append(services, o)
			if errs := validation.IsDNS1035Label(o.Name); len(errs) > 0 {
				t.Errorf("Service name %s: %v", o.Name, errs)
			}
		case *batchv1.CronJob:
			if o.Spec.Schedule == "" || len(o.Spec.JobTemplate.Spec.Template.Spec.Containers) != 1 {
				t.Errorf("CronJob %s: %+v", o.Name, o.Spec)
			}
		}
	}
	for _, o := range objs {
		m := o.(interface {
			GetName() string
			GetLabels() map[string]string
		})
		if errs := validation.IsDNS1123Subdomain(m.GetName()); len(errs) > 0 {
			t.Errorf("name %s: %v", m.GetName(), errs)
		}
		for k, v := range m.GetLabels() {
			if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
				t.Errorf("%s label %s=%s: %v", m.GetName(), k, v, errs)
			}
		}
		if m.GetLabels()["app.kubernetes.io/managed-by"] != "velos" {
			t.Errorf("%s: no managed-by label", m.GetName())
		}
	}
	if len(deployments) == 0 {
		t.Fatal("no Deployment")
	}
	ports := map[string]string{}
	for _, d := range deployments {
		if errs := validation.IsDNS1123Label(d.Name); len(errs) > 0 {
			t.Errorf("Deployment name %s: %v", d.Name, errs)
		}
		for k, v := range d.Spec.Selector.MatchLabels {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("Deployment %s: selector %s=%s does not match its pods", d.Name, k, v)
			}
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Image == "" || len(c.Command) == 0 {
				t.Errorf("Deployment %s: container %s has no image or command", d.Name, c.Name)
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil && configMaps[ef.ConfigMapRef.Name] == nil {
					t.Errorf("Deployment %s: no ConfigMap %s", d.Name, ef.ConfigMapRef.Name)
				}
				if ef.SecretRef != nil && !secrets[ef.SecretRef.Name] {
					t.Errorf("Deployment %s: no Secret %s", d.Name, ef.SecretRef.Name)
				}
			}
			for _, p := range c.Ports {
				if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
					t.Errorf("port name %s: %v", p.Name, errs)
				}
				ports[d.Name+"/"+p.Name] = fmt.Sprint(p.ContainerPort)
			}
		}
	}
	for _, s := range services {
		for _, p := range s.Spec.Ports {
			if _, ok := ports[s.Name+"/"+p.TargetPort.String()]; !ok {
				t.Errorf("Service %s targets port %s, which its Deployment does not name", s.Name, p.TargetPort.String())
			}
		}
	}
}

func TestKubernetesStrictDecodingCanFail(t *testing.T) {
	r := exportCase(t, "cluster", "testdata/cluster/velos.toml", Kubernetes, options("cluster", Kubernetes))
	for _, bad := range []struct{ from, to string }{
		{"containerPort:", "containerPorts:"},                                       // unknown field
		{"  replicas: 4", "  Replicas: 4"},                                          // case matters
		{"memory: 512Mi", "memory: lots"},                                           // not a quantity
		{"terminationGracePeriodSeconds: 8", "terminationGracePeriodSeconds: soon"}, // wrong type
	} {
		s := r.Stream()
		if !strings.Contains(s, bad.from) {
			t.Fatalf("output lacks %q", bad.from)
		}
		if _, err := decodeStrict(strings.Replace(s, bad.from, bad.to, 1)); err == nil {
			t.Errorf("%q → %q was accepted", bad.from, bad.to)
		}
	}
	if _, err := decodeStrict(r.Stream()); err != nil {
		t.Fatal(err)
	}
}

func TestKubeName(t *testing.T) {
	for in, want := range map[string]string{
		"web": "web", "search_v2": "search-v2", "API.Server": "api-server", "9lives": "app-9lives",
		strings.Repeat("a", 70): strings.Repeat("a", 63),
	} {
		if got := kubeName(in); got != want {
			t.Errorf("kubeName(%q) = %q, want %q", in, got, want)
		}
	}
}
