package agent

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestHelloRoundTrip(t *testing.T) {
	var b bytes.Buffer
	want := Limits{ReadOnly: true, Allow: []string{"process_list"}, Deny: []string{"daemon_kill"}}
	if err := WriteHello(&b, want); err != nil {
		t.Fatal(err)
	}
	b.WriteString(`{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n")
	l, rest, err := ReadHello(&b)
	if err != nil || l == nil || l.Key() != want.Key() {
		t.Fatalf("ReadHello: %+v %v", l, err)
	}
	if got, _ := io.ReadAll(rest); string(got) != `{"jsonrpc":"2.0","id":1,"method":"ping"}`+"\n" {
		t.Errorf("rest %q", got)
	}
}

// A connection that does not start with a hello (the CLI's) keeps its
// first line.
func TestNoHello(t *testing.T) {
	for _, first := range []string{`{"jsonrpc":"2.0","id":1,"method":"initialize"}` + "\n", `{"method":"x"}`} {
		l, rest, err := ReadHello(strings.NewReader(first))
		if err != nil || l != nil {
			t.Fatalf("%q: %+v %v", first, l, err)
		}
		if got, _ := io.ReadAll(rest); string(got) != first {
			t.Errorf("rest %q, want %q", got, first)
		}
	}
}

func TestRefusal(t *testing.T) {
	for _, c := range []struct {
		l        Limits
		name     string
		readOnly bool
		want     string
	}{
		{Limits{}, "process_stop", false, ""},
		{Limits{ReadOnly: true}, "process_list", true, ""},
		{Limits{ReadOnly: true}, "process_stop", false, "read-only"},
		{Limits{Allow: []string{"process_list"}}, "process_logs", true, "--allow-tools"},
		{Limits{Deny: []string{"process_logs"}}, "process_logs", true, "--deny-tools"},
	} {
		got := c.l.Refusal(c.name, c.readOnly)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%+v %s: %q, want %q", c.l, c.name, got, c.want)
		}
	}
	if err := (Limits{Allow: []string{"nope"}}).Check([]string{"process_list"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Check: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"[agent]\nallow_strat = []\n", "c.toml:2:1: unknown key agent.allow_strat"},
		{"[agent]\nallow_start = \"node\"\n", "c.toml:2:"},
		{"[agent\n", "c.toml:1:"},
		{"[agent]\nallow_start = [\"[\"]\n", "bad pattern"},
		{"[agnet]\n", "c.toml:1:2: unknown key agnet"},
	} {
		_, err := Parse("c.toml", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}

func TestCheckStart(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("skipping: no sh on PATH")
	}
	home := t.TempDir()
	c := &Config{Path: filepath.Join(home, "config.toml"), AllowStart: []string{"sh", "python3*", "./bin/*", "/opt/app/*"}}
	for _, tc := range []struct {
		cmd []string
		cwd string
		ok  bool
	}{
		{[]string{"sh", "-c", "x"}, "/", true},
		{[]string{sh, "-c", "x"}, "/", true},
		{[]string{"/tmp/elsewhere/sh"}, "/", false},
		{[]string{"python3.12", "app.py"}, "/", true},
		{[]string{"node", "app.js"}, "/", false},
		{[]string{filepath.Join(home, "bin", "srv")}, "/", true},
		{[]string{"./bin/srv"}, home, true},
		{[]string{"./bin/srv"}, "/tmp", false},
		{[]string{filepath.Join(home, "bin", "sub", "srv")}, "/", false},
		{[]string{filepath.Join(home, "bin", "..", "srv")}, "/", false},
		{[]string{"/opt/app/server"}, "/", true},
	} {
		err := c.CheckStart(tc.cmd, tc.cwd)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrNotAllowed) {
			t.Errorf("%v in %s: %v, want allowed %v", tc.cmd, tc.cwd, err, tc.ok)
		}
	}
	if err := (&Config{}).CheckStart([]string{"anything"}, "/"); err != nil {
		t.Errorf("no allow_start: %v", err)
	}
	if err := (&Config{AllowStart: []string{}}).CheckStart([]string{"sh"}, "/"); err == nil {
		t.Error("allow_start = [] allowed sh")
	}
}
