//go:build unix

package keeper

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serve runs a Keeper on a socket in a temp folder and returns a client.
func serve(t *testing.T) (*Client, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "kp")
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
	done := make(chan error, 1)
	go func() { done <- New(nil, filepath.Join(dir, "spool")).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	c, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

// A pipe's read end held by the keeper outlives its owner: the writer gets
// no EPIPE, and a later owner reads every byte, in order, once.
func TestPipeOutlivesItsReader(t *testing.T) {
	c, path := serve(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := c.Put(map[string]*os.File{"p1/out": r}); err != nil {
		t.Fatal(err)
	}
	r.Close() // the daemon is gone
	c.Close()
	for i := range 100 {
		if _, err := fmt.Fprintf(w, "line %d\n", i); err != nil {
			t.Fatalf("write %d after the reader died: %v", i, err)
		}
	}
	w.Close()
	c2, err := Dial(path) // the next daemon
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	got, err := c2.Get("p1/")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["p1/out"] == nil {
		t.Fatalf("get: %v", got)
	}
	// The keeper's own copy is still open, so the pipe has no EOF until it
	// lets go.
	if err := c2.Delete("p1/"); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(got["p1/out"])
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 100 || lines[0] != "line 0" || lines[99] != "line 99" {
		t.Fatalf("read back %d lines: %q … %q", len(lines), lines[0], lines[len(lines)-1])
	}
}

// A listening socket held by the keeper keeps its port: connections wait
// in the backlog and the next owner accepts them.
func TestListenerKeepsItsPort(t *testing.T) {
	c, _ := serve(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	f, _ := ln.(*net.TCPListener).File()
	if err := c.Put(map[string]*os.File{"share/api/0": f}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ln.Close()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("the port was closed with its first owner: %v", err)
	}
	defer conn.Close()
	got, err := c.Get("share/")
	if err != nil {
		t.Fatal(err)
	}
	ln2, err := net.FileListener(got["share/api/0"])
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	accepted, err := ln2.Accept()
	if err != nil {
		t.Fatal(err)
	}
	accepted.Close()
}

func TestPrefixesBatchesAndErrors(t *testing.T) {
	c, _ := serve(t)
	files := map[string]*os.File{}
	for i := range 300 { // more than one message carries
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		files[fmt.Sprintf("p%d/out", i)] = r
	}
	if err := c.Put(files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		f.Close()
	}
	keys, err := c.List("")
	if err != nil || len(keys) != 300 {
		t.Fatalf("list: %d %v", len(keys), err)
	}
	if _, err := c.Get(""); err == nil || !strings.Contains(err.Error(), "more than one message") {
		t.Fatalf("get of 300: %v", err)
	}
	got, err := c.Get("p12/")
	if err != nil || len(got) != 1 {
		t.Fatalf("get p12/: %v %v", got, err)
	}
	got["p12/out"].Close()
	if err := c.Delete("p1"); err != nil { // p1, p10…p19, p100…p199
		t.Fatal(err)
	}
	if keys, _ := c.List(""); len(keys) != 300-111 {
		t.Fatalf("after delete: %d keys", len(keys))
	}
	if pid, err := c.Ping(); err != nil || pid != os.Getpid() {
		t.Fatalf("ping: %d %v", pid, err)
	}
	if _, _, err := c.call(request{Op: "bogus"}, nil); err == nil {
		t.Fatal("an unknown op was accepted")
	}
}

// Quit ends the keeper and closes what it held: a pipe's writer then gets
// EPIPE, as when no one will ever read.
func TestQuitLetsGo(t *testing.T) {
	c, path := serve(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	c.Put(map[string]*os.File{"x": r})
	r.Close()
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	if _, err := Dial(path); err == nil {
		// The listener closes right after the answer; a dial may still race it.
		t.Log("dialled a keeper that was quitting")
	}
	if _, err := w.Write([]byte("x")); err != syscall.EPIPE && !strings.Contains(fmt.Sprint(err), "broken pipe") {
		t.Fatalf("write after quit: %v, want EPIPE", err)
	}
}

// While no owner holds the keeper, a spooled pipe is drained: a child
// writing far more than a pipe holds never blocks, and the next owner reads
// the spool, then the pipe, every byte once and in order — including a
// line cut in two by the hand-over.
func TestSpoolWhileNoOwner(t *testing.T) {
	c, path := serve(t)
	if _, err := c.Own(); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := c.PutSpooled(map[string]*os.File{"p1.1/out": r}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	c.Close() // the daemon dies
	var want strings.Builder
	const n = 20000 // ~250 KiB: four times what a pipe holds
	for i := range n {
		line := fmt.Sprintf("line %06d\n", i)
		want.WriteString(line)
		if _, err := io.WriteString(w, line); err != nil { // would block for ever without the drain
			t.Fatalf("write %d: %v", i, err)
		}
	}
	io.WriteString(w, "half a ")
	want.WriteString("half a ")
	c2, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Own(); err != nil {
		t.Fatal(err)
	}
	got, err := c2.Take("p1.1/")
	if err != nil {
		t.Fatal(err)
	}
	tk := got["p1.1/out"]
	if tk.File == nil || tk.Spool == nil {
		t.Fatalf("take: %+v", got)
	}
	io.WriteString(w, "line, after\n")
	want.WriteString("line, after\n")
	w.Close()
	if err := c2.Delete("p1.1/"); err != nil { // the keeper's copy goes: EOF once the writer is gone
		t.Fatal(err)
	}
	b, err := io.ReadAll(io.MultiReader(tk.Spool, tk.File))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want.String() {
		t.Fatalf("read back %d bytes, want %d; tail %q", len(b), want.Len(), b[max(0, len(b)-40):])
	}
	if ents, _ := os.ReadDir(filepath.Join(filepath.Dir(path), "spool")); len(ents) != 0 {
		t.Fatalf("spool files left: %v", ents)
	}
}

// A keeper with nothing to hold and no owner exits by itself, as does one
// whose socket file is gone.
func TestRunEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		prep func(t *testing.T, path string)
		idle time.Duration
	}{
		{"idle", func(*testing.T, string) {}, 50 * time.Millisecond},
		{"socket removed", func(t *testing.T, path string) {
			c, err := Dial(path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			r, w, _ := os.Pipe()
			defer w.Close()
			c.Put(map[string]*os.File{"x": r}) // not idle
			r.Close()
			os.Remove(path)
		}, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "k.sock")
			ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- New(nil, filepath.Join(dir, "spool")).Run(context.Background(), ln, path, tc.idle) }()
			tc.prep(t, path)
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the keeper did not exit")
			}
		})
	}
}
