package supervisor

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/velos-pm/velos/core/keeper"
)

// lineSink keeps every line a process printed, in order, and wakes
// waiters at each.
type lineSink struct {
	mu    sync.Mutex
	lines []string
	more  chan struct{}
}

func newLineSink() *lineSink { return &lineSink{more: make(chan struct{})} }

func (s *lineSink) Attach(_ string, stderr bool, r io.Reader, _ LogOptions) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if stderr {
				continue
			}
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			close(s.more)
			s.more = make(chan struct{})
			s.mu.Unlock()
		}
	}()
	return done
}

// waitLines returns once n lines have come.
func (s *lineSink) waitLines(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		got, more := len(s.lines), s.more
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("%d lines after 10s, want %d", got, n)
		}
	}
}

// keeperHolder adapts a keeper session to [Holder], as velosd does.
type keeperHolder struct{ c *keeper.Client }

func (k keeperHolder) Hold(pipes, others map[string]*os.File) error {
	if len(others) > 0 {
		if err := k.c.Put(others); err != nil {
			return err
		}
	}
	if len(pipes) == 0 {
		return nil
	}
	return k.c.PutSpooled(pipes)
}

func (k keeperHolder) Take(prefix string) (map[string]Handed, error) {
	got, err := k.c.Take(prefix)
	out := map[string]Handed{}
	for key, t := range got {
		out[key] = Handed{File: t.File, Spool: t.Spool}
	}
	return out, err
}

func (k keeperHolder) Release(prefix string) { _ = k.c.Delete(prefix) }

// A Manager that detaches (as a daemon about to re-execute itself) and a
// new one that adopts from its Runtime: same pid, online; what the program
// printed meanwhile was spooled by the keeper and comes first, every line
// once and in order; the program is stopped by the new Manager. (Its exit
// status is the first Manager's here, whose wait still runs in this
// process; after a real exec see faults/update_test.go.)
func TestAdoptFromRuntime(t *testing.T) {
	dir, err := os.MkdirTemp("", "adopt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "k.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- keeper.New(nil, filepath.Join(dir, "spool")).Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-served })
	own := func() keeperHolder {
		c, err := keeper.Dial(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Own(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return keeperHolder{c}
	}

	sink := newLineSink()
	first := own()
	var written []Runtime
	a := NewManager(Options{Sink: sink, Holder: first, RunDir: filepath.Join(dir, "run"),
		OnRuntime: func(rt Runtime) { written = append(written, rt) }})
	script := `i=0; while :; do i=$((i+1)); echo "seq $i"; sleep 0.01; done`
	ins, err := a.Start(Spec{Name: "n", Command: []string{"sh", "-c", script}})
	if err != nil {
		t.Fatal(err)
	}
	pid := ins[0].PID
	sink.waitLines(t, 10)
	rt := a.Detach()
	if len(written) == 0 || written[len(written)-1].Processes[0].Run == nil {
		t.Fatalf("no runtime with the run was written: %+v", written)
	}
	first.c.Close() // the owner is gone: the keeper drains the pipes
	waitSpool := time.Now().Add(10 * time.Second)
	for {
		m, _ := filepath.Glob(filepath.Join(dir, "spool", "*out.spool"))
		if len(m) == 1 {
			if b, _ := os.ReadFile(m[0]); strings.Count(string(b), "\n") >= 10 {
				break
			}
		}
		if time.Now().After(waitSpool) {
			t.Fatal("the keeper spooled nothing")
		}
		time.Sleep(20 * time.Millisecond) // the keeper's files: nothing to wait on
	}

	b := NewManager(Options{Sink: sink, Holder: own(), RunDir: filepath.Join(dir, "run")})
	got, err := b.Adopt(rt)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].PID != pid || got[0].Status != Online || got[0].Restarts != 0 {
		t.Fatalf("adopted: %+v, want pid %d online", got, pid)
	}
	sink.mu.Lock()
	n := len(sink.lines)
	sink.mu.Unlock()
	sink.waitLines(t, n+20)
	stopped, err := b.Stop(context.Background(), "n")
	if err != nil {
		t.Fatal(err)
	}
	if e := stopped[0].LastExit; stopped[0].Status != Stopped || e == nil {
		t.Fatalf("stopped: %+v, exit %+v", stopped[0], e)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("pid %d still runs", pid)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for i, l := range sink.lines {
		if want := fmt.Sprintf("seq %d", i+1); l != want {
			t.Fatalf("line %d is %q, want %q (lost, repeated or out of order)", i+1, l, want)
		}
	}
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
