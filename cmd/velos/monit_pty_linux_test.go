package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/velos-pm/velos/internal/testenv"
)

// runMonit runs `velos monit` on a pseudo-terminal, waits for its first
// screen and quits it with q.
func runMonit(t *testing.T, e *testenv.Env) {
	t.Helper()
	master, slave := openPTY(t)
	setSize(t, slave, 24, 100)
	cmd := exec.Command(e.Bin, "monit")
	cmd.Env = append(os.Environ(), "VELOS_HOME="+e.Home, "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	screen := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		var all strings.Builder
		for {
			n, err := master.Read(buf)
			all.Write(buf[:n])
			select {
			case screen <- all.String():
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	deadline := time.After(15 * time.Second)
	for shown := false; !shown; {
		select {
		case s := <-screen:
			shown = strings.Contains(s, "api") && strings.Contains(s, "q quit")
		case <-deadline:
			cmd.Process.Kill()
			t.Fatal("velos monit showed no dashboard with api")
		}
	}
	master.Write([]byte("q"))
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("velos monit: %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Error("velos monit did not quit on q")
	}
}

// setSize gives a pseudo-terminal a size, as a terminal window would.
func setSize(t *testing.T, f *os.File, rows, cols uint16) {
	t.Helper()
	ws := struct{ Row, Col, X, Y uint16 }{rows, cols, 0, 0}
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&ws))); errno != 0 {
		t.Skip("TIOCSWINSZ:", errno)
	}
}
