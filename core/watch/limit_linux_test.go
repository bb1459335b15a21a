package watch

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// limitEnv marks the copy of the test binary that runs inside a user
// namespace, where the inotify watch limit can be lowered for it alone.
const limitEnv = "VELOS_WATCH_LIMIT_CHILD"

// TestWatchLimit hits the real inotify watch limit (ENOSPC) without touching
// the machine's: it runs itself again in a new user namespace, whose
// /proc/sys/user/max_inotify_watches applies to that namespace only.
func TestWatchLimit(t *testing.T) {
	if os.Getenv(limitEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWatchLimit$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), limitEnv+"=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Skipf("skipped: cannot start a process in a new user namespace here: %v", err)
			}
			t.Fatalf("in a user namespace: %v\n%s", err, out)
		}
		if s := string(out); strings.Contains(s, "--- SKIP") {
			t.Skipf("skipped in the user namespace:\n%s", s)
		}
		t.Logf("in a user namespace:\n%s", out)
		return
	}

	// Inside the namespace: allow 3 watches.
	if err := os.WriteFile("/proc/sys/user/max_inotify_watches", []byte("3"), 0o644); err != nil {
		t.Skipf("skipped: cannot lower the inotify watch limit in a user namespace: %v", err)
	}
	h, r := newHub(t)
	dir := t.TempDir()
	for _, d := range []string{"a", "b", "c", "d"} {
		mkdirAll(t, filepath.Join(dir, d))
	}
	err := h.Add("big", Options{Paths: []string{dir}, Debounce: debounce})
	t.Logf("Add: %v", err)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "fs.inotify.max_user_watches") ||
		!strings.Contains(err.Error(), "watch "+dir+"/") {
		t.Fatalf("Add of 5 folders with a limit of 3: %v; want ENOSPC naming the folder and fs.inotify.max_user_watches", err)
	}
	if got := h.w.WatchList(); len(got) != 0 {
		t.Fatalf("the failed Add left watches: %q", got)
	}

	// At run time: folders made beyond the limit are reported once, however
	// many fail.
	small := filepath.Join(dir, "a")
	add(t, h, "small", Options{Paths: []string{small}})
	for _, d := range []string{"x1", "x2", "x3", "x4"} {
		mkdirAll(t, filepath.Join(small, d, "deeper"))
	}
	err = r.nextErr(t, "small")
	t.Logf("onError: %v", err)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "fs.inotify.max_user_watches") {
		t.Fatalf("onError: %v; want ENOSPC naming fs.inotify.max_user_watches", err)
	}
	r.next(t, "small") // the new folders are changes all the same
	r.noErr(t, "small")
}
