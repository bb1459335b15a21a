package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// ErrClosed is returned by [Hub.Add] after [Hub.Close].
var ErrClosed = errors.New("watch: hub closed")

// addError explains why a folder could not be watched, naming it and, for
// the OS limits, the knob to turn. The cause it wraps stays reachable with
// errors.Is (syscall.ENOSPC, fs.ErrPermission …).
func addError(dir string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		// inotify_add_watch says ENOSPC when the per-user watch limit is hit.
		return fmt.Errorf("watch %s: the inotify watch limit is reached%s; raise fs.inotify.max_user_watches (sysctl -w fs.inotify.max_user_watches=524288) or ignore big folders: %w",
			dir, currentLimit("/proc/sys/user/max_inotify_watches", "/proc/sys/fs/inotify/max_user_watches"), err)
	case errors.Is(err, syscall.EMFILE):
		// kqueue (macOS, BSD) opens a descriptor per watched file and folder.
		return fmt.Errorf("watch %s: too many open files (raise ulimit -n, or ignore big folders): %w", dir, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("watch %s: permission denied (ignore the folder if it need not be watched): %w", dir, err)
	}
	return fmt.Errorf("watch %s: %w", dir, err)
}

// newWatcherError explains a failure to create the OS watcher.
func newWatcherError(err error) error {
	if errors.Is(err, syscall.EMFILE) {
		// inotify_init1 says EMFILE when the per-user instance limit is hit.
		return fmt.Errorf("watch: cannot create a file watcher: too many inotify instances%s; raise fs.inotify.max_user_instances: %w",
			currentLimit("/proc/sys/user/max_inotify_instances", "/proc/sys/fs/inotify/max_user_instances"), err)
	}
	return fmt.Errorf("watch: cannot create a file watcher: %w", err)
}

// currentLimit reads the first sysctl file that exists for the message
// (" (limit 8192)"); "" where there is none. The /proc/sys/user files hold
// the limit of the caller's user namespace (a container's), the fs.inotify
// ones that of the host.
func currentLimit(files ...string) string {
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			return " (limit " + strings.TrimSpace(string(b)) + ")"
		}
	}
	return ""
}

// cause is what "once per cause" means for run-time errors: the OS error
// number when there is one (every folder denied is one cause), else the text.
func cause(err error) string {
	var no syscall.Errno
	if errors.As(err, &no) {
		return "errno:" + no.Error()
	}
	return err.Error()
}
