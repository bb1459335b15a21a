package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/velos-pm/velos/internal/testenv"
)

// TestAnyProgram starts each kind of program the README promises and checks
// each really ran, by the file it writes with its own interpreter.
func TestAnyProgram(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	// Each program writes "<kind> <cwd>" to its marker, then sleeps.
	write("app.js", `require("fs").writeFileSync(process.argv[2], "node " + process.cwd()); setInterval(() => {}, 1000);`, 0o644)
	write("app.py", "import os, sys, time\nopen(sys.argv[1], 'w').write('python ' + os.getcwd())\ntime.sleep(300)\n", 0o644)
	write("app.sh", "printf 'bash %s' \"$(pwd)\" > \"$1\"; exec sleep 300\n", 0o644)
	write("prog", "#!/bin/sh\nprintf 'exec %s' \"$(pwd)\" > \"$1\"; exec sleep 300\n", 0o755)
	write("plain.txt", "import sys\nopen(sys.argv[1], 'w').write('interp')\nimport time; time.sleep(300)\n", 0o644)

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"start", "app.js", "--", "m-js"}, "node " + dir},
		{[]string{"start", "app.py", "--name", "py", "--", "m-py"}, "python " + dir},
		{[]string{"start", "app.sh", "--name", "sh", "--", "m-sh"}, "bash " + dir},
		{[]string{"start", "./prog", "--", "m-exec"}, "exec " + dir},
		{[]string{"start", "plain.txt", "--interpreter", "python3", "--name", "interp", "--", "m-interp"}, "interp"},
		{[]string{"start", "sh", "--name", "onpath", "--", "-c", "echo path > m-path; exec sleep 300"}, "path"},
	}
	for _, c := range cases {
		r := e.RunIn(dir, c.args...)
		if r.Code != 0 {
			t.Fatalf("velos %s: %s", strings.Join(c.args, " "), r.Stderr)
		}
	}
	markers := map[string]string{"m-js": cases[0].want, "m-py": cases[1].want, "m-sh": cases[2].want,
		"m-exec": cases[3].want, "m-interp": "interp", "m-path": "path"}
	for file, want := range markers {
		var got string
		waitFor(t, file, 10*time.Second, func() bool {
			b, _ := os.ReadFile(filepath.Join(dir, file))
			got = strings.TrimSpace(string(b))
			return got != ""
		})
		if got != want {
			t.Errorf("%s: got %q, want %q", file, got, want)
		}
	}
	for _, p := range list(t, e) {
		if p.Status != "online" {
			t.Errorf("%s is %s", p.Name, p.Status)
		}
	}
}

// TestUserAndGroup: a process runs as the user and group it names (the
// daemon runs as root), with that user's HOME; it can still say READY=1 and
// share a port, which live in the daemon's private folder.
func TestUserAndGroup(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("running as another user needs root; this test runs as uid", os.Geteuid())
	}
	e := testenv.New(t)
	app := testenv.TestApp(t)
	// The test app's folder must be readable by nobody.
	if err := os.Chmod(filepath.Dir(app), 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	e.MustRun("start", app, "--name", "u", "--user", "nobody", "--group", "nogroup", "--wait-ready",
		"--listen", port, "--balance", "socket", "--", "-serve", "fds", "-ready-after", "0s")
	p := find(list(t, e), "u")
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "\nUid:\t65534\t") || !strings.Contains(string(status), "\nGid:\t65534\t") {
		t.Fatalf("not running as nobody:nogroup:\n%s", status)
	}
	environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.PID))
	if !strings.Contains(string(environ), "HOME=/nonexistent\x00") || !strings.Contains(string(environ), "USER=nobody\x00") {
		t.Errorf("nobody's HOME and USER not set: %q", environ)
	}
	if _, err := answeredBy("http://127.0.0.1:" + port + "/"); err != nil {
		t.Fatalf("serving as nobody: %v", err)
	}
	// A user that does not exist is a clear error, and nothing runs.
	r := e.Run("start", "sleep", "--name", "ghost", "--user", "no-such-user-velos", "--", "300")
	if r.Code == 0 || !strings.Contains(r.Stderr, `user "no-such-user-velos"`) {
		t.Fatalf("unknown user: %+v", r)
	}
}
