package supervisor

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestUpdateSwapsTheSpecFromTheNextRun(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	spec := Spec{Name: "upd", Command: []string{"sleep", "60"}, Env: map[string]string{"A": "1"}}
	infos, err := m.Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	pid := infos[0].PID
	spec.Env = map[string]string{"A": "2"}
	spec.KillTimeout = 7 * time.Second
	spec.MaxMemory = 1 << 20
	up, err := m.Update("upd", spec)
	if err != nil {
		t.Fatal(err)
	}
	if up[0].PID != pid || up[0].Spec.KillTimeout != 7*time.Second || up[0].Spec.MaxMemory != 1<<20 || up[0].Spec.Env["A"] != "2" {
		t.Fatalf("after update: pid %d (was %d), spec %+v", up[0].PID, pid, up[0].Spec)
	}
	if up[0].Spec.Backoff.Min != DefaultBackoffMin {
		t.Fatal("update did not fill defaults")
	}
	again, err := m.Restart(context.Background(), "upd", CauseManual)
	if err != nil {
		t.Fatal(err)
	}
	if again[0].PID == pid || again[0].Spec.Env["A"] != "2" {
		t.Fatalf("restart ran pid %d with %v", again[0].PID, again[0].Spec.Env)
	}
}

func TestUpdateRefuses(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	spec := Spec{Name: "upd2", Command: []string{"sleep", "60"}}
	if _, err := m.Start(spec); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target string
		spec   Spec
		want   string
	}{
		{"upd2", Spec{Name: "upd2", Command: []string{"sleep", "60"}, Instances: 2}, "instances 1 → 2"},
		{"upd2", Spec{Name: "other", Command: []string{"sleep", "60"}}, `for "other"`},
		{"upd2", Spec{Name: "upd2"}, "update"},
		{"nope", spec, "unknown process"},
	} {
		if _, err := m.Update(tc.target, tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Update(%s, %+v) = %v, want %q", tc.target, tc.spec, err, tc.want)
		}
	}
	if got := m.List()[0].Spec.Name; got != "upd2" {
		t.Fatalf("a refused update changed the spec: %s", got)
	}
}
