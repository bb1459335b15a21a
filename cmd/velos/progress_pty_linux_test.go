package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/velos-pm/velos/internal/testenv"
)

// On a terminal, velos reload prints a line per instance step as it goes
// (the CLI asks for progress with a progress token); piped, it prints only
// its answer.
func TestReloadPrintsProgressOnATerminal(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "api", "-i", "2", "--", "300")
	master, slave := openPTY(t)
	cmd := exec.Command(e.Bin, "reload", "api")
	cmd.Env = append(os.Environ(), "VELOS_HOME="+e.Home, "NO_COLOR=1")
	cmd.Stdout, cmd.Stderr = slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect(t, lines, "api-0 (id 0): 1/1 restarting", 10*time.Second)
	expect(t, lines, "api-1 (id 1): 1/1 restarting", 10*time.Second)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("velos reload: %v", err)
	}
	if r := e.Run("reload", "api"); r.Code != 0 || strings.Contains(r.Stdout+r.Stderr, "restarting") {
		t.Errorf("piped velos reload: exit %d, printed progress:\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}
