package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tmpfsEnv tells a re-executed test binary the folder to mount a small
// tmpfs on, in the private mount namespace unshare gave it.
const tmpfsEnv = "VELOS_LOGS_TEST_TMPFS"

// TestDiskFull fills a real file system (a 64 KiB tmpfs) under the store:
// the writer is never blocked, the file keeps whole records only, the error
// is reported once per ErrorInterval with the lines dropped, and writing
// resumes by itself once space returns. It runs in a private mount
// namespace (unshare -m), so it needs root; it skips elsewhere.
func TestDiskFull(t *testing.T) {
	if dir := os.Getenv(tmpfsEnv); dir != "" {
		diskFull(t, dir)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare(1) to get a private mount namespace")
	}
	dir := t.TempDir()
	cmd := exec.Command(unshare, "-m", "--propagation", "private", os.Args[0], "-test.run", "^TestDiskFull$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), tmpfsEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if bytes.HasPrefix(out, []byte("unshare:")) {
		t.Skipf("no private mount namespace here: %s", out)
	}
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestDiskFull")) {
		t.Fatalf("in a private mount namespace: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func diskFull(t *testing.T, dir string) {
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	defer syscall.Unmount(dir, syscall.MNT_DETACH)
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 40<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := testBase
	var reports []*WriteError // appended by the attach goroutine before its done channel closes
	s, err := Open(Options{Dir: dir, ErrorInterval: time.Minute,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		OnError: func(err error) {
			var we *WriteError
			if !errors.As(err, &we) {
				t.Errorf("not a write error: %v", err)
				return
			}
			reports = append(reports, we)
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// feed writes n lines of 100 bytes through a real pipe and returns once
	// the store has handled all of them; the writer must never be blocked
	// for long by a full disk.
	feed := func(tag string, n int) {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		done := s.Attach("api", Out, r, nil)
		start := time.Now()
		for i := range n {
			fmt.Fprintf(w, "%s %05d %s\n", tag, i, strings.Repeat("x", 88))
		}
		w.Close()
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("writing %d lines took %v: the app waited for the disk", n, d)
		}
		<-done
		r.Close()
	}
	feed("full", 1000) // 100 KB into 24 KB of free space
	if len(reports) != 1 || reports[0].Resumed || !errors.Is(reports[0], syscall.ENOSPC) || reports[0].Dropped == 0 {
		t.Fatalf("after the disk filled: %d reports %v", len(reports), reports)
	}
	first := reports[0].Dropped
	feed("still", 200) // inside the interval: counted, not reported
	if len(reports) != 1 {
		t.Fatalf("reported again inside the interval: %v", reports)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	feed("later", 200)
	if len(reports) != 2 || reports[1].Dropped < first+200 || reports[1].Resumed {
		t.Fatalf("after the interval: %v", reports)
	}
	if we := s.WriteErrors("api"); len(we) != 1 || we[0].Stream != Out {
		t.Fatalf("WriteErrors while full: %+v", we)
	}
	checkWholeRecords(t, currentPath(dir, "api", Out))

	// Space returns: the next lines are written, and the store says so.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	feed("back", 10)
	if len(reports) != 3 || !reports[2].Resumed || reports[2].Dropped < reports[1].Dropped {
		t.Fatalf("after space returned: %v", reports)
	}
	if we := s.WriteErrors("api"); len(we) != 0 {
		t.Fatalf("WriteErrors after space returned: %+v", we)
	}
	res, err := s.Query(context.Background(), Query{Names: []string{"api"}, Lines: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range res.Lines {
		if want := fmt.Sprintf("back %05d ", i); !strings.HasPrefix(l.Text, want) {
			t.Fatalf("line %d after space returned: %q, want %q…", i, l.Text, want)
		}
	}
	if len(res.Lines) != 10 {
		t.Fatalf("%d lines after space returned, want 10", len(res.Lines))
	}
	checkWholeRecords(t, currentPath(dir, "api", Out))
	t.Logf("reports: %v", reports)
}

// checkWholeRecords fails unless every line of the file is a whole record.
func checkWholeRecords(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("%s ends inside a record: %q", path, b[max(0, len(b)-80):])
	}
	for i, rec := range bytes.SplitAfter(b, []byte{'\n'}) {
		if len(rec) == 0 {
			continue
		}
		if _, ok := parseRecord(rec); !ok {
			t.Fatalf("%s: record %d is torn: %q", path, i+1, rec)
		}
	}
}
