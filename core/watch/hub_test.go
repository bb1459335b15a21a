package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// debounce is short to keep the suite fast, long enough that a loaded
// 2-core machine does not split one burst of writes in two.
const debounce = 150 * time.Millisecond

// quiet is how long a test waits to show that no call happened: the one
// bounded wait these tests use, a small multiple of the debounce.
const quiet = 3 * debounce

// failAfter bounds every wait for a call that must come; reaching it fails.
const failAfter = 10 * time.Second

// recorder collects the Hub's calls per key.
type recorder struct {
	mu      sync.Mutex
	changes map[string]chan []string
	errs    map[string]chan error
}

func (r *recorder) ch(key string) chan []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.changes[key] == nil {
		r.changes[key] = make(chan []string, 100)
	}
	return r.changes[key]
}

func (r *recorder) errCh(key string) chan error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.errs[key] == nil {
		r.errs[key] = make(chan error, 100)
	}
	return r.errs[key]
}

func newHub(t *testing.T) (*Hub, *recorder) {
	t.Helper()
	r := &recorder{changes: map[string]chan []string{}, errs: map[string]chan error{}}
	h, err := New(
		func(key string, changed []string) { r.ch(key) <- changed },
		func(key string, err error) { r.errCh(key) <- err })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h, r
}

// next waits for the next onChange call for key.
func (r *recorder) next(t *testing.T, key string) []string {
	t.Helper()
	select {
	case c := <-r.ch(key):
		return c
	case <-time.After(failAfter):
		t.Fatalf("no onChange for %s within %s", key, failAfter)
		return nil
	}
}

// none shows that no onChange call for key comes within quiet.
func (r *recorder) none(t *testing.T, key string) {
	t.Helper()
	select {
	case c := <-r.ch(key):
		t.Fatalf("unexpected onChange for %s: %q", key, c)
	case <-time.After(quiet):
	}
}

func (r *recorder) nextErr(t *testing.T, key string) error {
	t.Helper()
	select {
	case err := <-r.errCh(key):
		return err
	case <-time.After(failAfter):
		t.Fatalf("no onError for %s within %s", key, failAfter)
		return nil
	}
}

func (r *recorder) noErr(t *testing.T, key string) {
	t.Helper()
	select {
	case err := <-r.errCh(key):
		t.Fatalf("unexpected onError for %s: %v", key, err)
	default:
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdirAll(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func add(t *testing.T, h *Hub, key string, o Options) {
	t.Helper()
	if o.Debounce == 0 {
		o.Debounce = debounce
	}
	if err := h.Add(key, o); err != nil {
		t.Fatal(err)
	}
}

func wantChanged(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("changed = %q, want %q", got, want)
	}
}

func TestBurstOfWritesIsOneCall(t *testing.T) {
	t.Parallel()
	h, r := newHub(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "server.js")
	write(t, f, "v0")
	add(t, h, "api", Options{Paths: []string{dir}})

	start := time.Now()
	for i := range 100 {
		write(t, f, fmt.Sprint("v", i))
		time.Sleep(500 * time.Microsecond) // spread the burst over ~50 ms
	}
	t.Logf("100 writes took %s", time.Since(start).Round(time.Millisecond))
	wantChanged(t, r.next(t, "api"), f)
	r.none(t, "api")
}

func TestChmodIsNoChange(t *testing.T) {
	t.Parallel()
	h, r := newHub(t)
	dir := t.TempDir()
	f, g := filepath.Join(dir, "a.sh"), filepath.Join(dir, "b.sh")
	write(t, f, "")
	add(t, h, "k", Options{Paths: []string{dir}})
	if err := os.Chmod(f, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, g, "x") // the signal: the call lists g alone
	wantChanged(t, r.next(t, "k"), g)
	r.none(t, "k")
}

func TestIgnoredPathsMakeNoCallAndAreNotWatched(t *testing.T) {
	t.Parallel()
	h, r := newHub(t)
	dir := t.TempDir()
	for _, d := range []string{"node_modules/express/lib", "logs", "cache/a", "src/.git/objects", "src/lib"} {
		mkdirAll(t, filepath.Join(dir, d))
	}
	logs := filepath.Join(dir, "logs")
	add(t, h, "web", Options{Paths: []string{dir}, Ignore: []string{logs, "*.tmp", "cache/**"}})

	wantDirs := []string{dir, filepath.Join(dir, "src"), filepath.Join(dir, "src", "lib")}
	if got := h.Watched("web"); !slices.Equal(got, wantDirs) {
		t.Fatalf("Watched = %q, want %q", got, wantDirs)
	}
	// What the OS watcher holds, not just our bookkeeping.
	if got := h.w.WatchList(); len(got) != len(wantDirs) {
		t.Fatalf("fsnotify watches %q, want %q", got, wantDirs)
	}

	write(t, filepath.Join(dir, "node_modules/express/lib/router.js"), "x")
	write(t, filepath.Join(logs, "web-out.txt"), "x") // the absolute ignore
	write(t, filepath.Join(dir, "cache/a/blob"), "x")
	write(t, filepath.Join(dir, "build.tmp"), "x")
	write(t, filepath.Join(dir, "src", "debug.log"), "x") // default *.log
	write(t, filepath.Join(dir, "src", ".main.js.swp"), "x")
	write(t, filepath.Join(dir, "src/.git/objects/ab"), "x")
	// A folder made now under an ignored name is not watched either.
	mkdirAll(t, filepath.Join(dir, "src/lib/node_modules/left-pad"))
	write(t, filepath.Join(dir, "src/lib/node_modules/left-pad/index.js"), "x")

	sentinel := filepath.Join(dir, "src", "lib", "main.js")
	write(t, sentinel, "x") // the signal that every write above was read
	wantChanged(t, r.next(t, "web"), sentinel)
	r.none(t, "web")
	if got := h.Watched("web"); !slices.Equal(got, wantDirs) {
		t.Fatalf("after the writes, Watched = %q, want %q", got, wantDirs)
	}
}

func TestNewFoldersAreWatched(t *testing.T) {
	t.Parallel()
	h, r := newHub(t)
	dir := t.TempDir()
	add(t, h, "k", Options{Paths: []string{dir}})

	// A new subfolder: its creation is a change, and once that call came,
	// the folder is watched.
	sub := filepath.Join(dir, "sub")
	mkdirAll(t, sub)
	wantChanged(t, r.next(t, "k"), sub)
	f := filepath.Join(sub, "a.txt")
	write(t, f, "x")
	wantChanged(t, r.next(t, "k"), f)

	// A nested tree made at once: the inner folders exist before the event
	// for the outer one is read.
	deep := filepath.Join(dir, "x", "y", "z")
	mkdirAll(t, deep)
	got := r.next(t, "k")
	if !slices.Contains(got, filepath.Join(dir, "x")) {
		t.Fatalf("changed = %q, want it to list %s", got, filepath.Join(dir, "x"))
	}
	for _, d := range []string{filepath.Join(dir, "x"), filepath.Join(dir, "x", "y"), deep} {
		if !slices.Contains(h.Watched("k"), d) {
			t.Fatalf("%s is not watched: %q", d, h.Watched("k"))
		}
	}
	f = filepath.Join(deep, "deep.txt")
	write(t, f, "x")
	wantChanged(t, r.next(t, "k"), f)

	// A tree with a file written at once: the file counts even if it was
	// written before the folder's watch existed.
	g := filepath.Join(dir, "p", "q", "new.txt")
	mkdirAll(t, filepath.Dir(g))
	write(t, g, "x")
	if got := r.next(t, "k"); !slices.Contains(got, g) {
		t.Fatalf("changed = %q, want it to list %s", got, g)
	}
	r.none(t, "k")
}

func TestRemovedAndMovedFoldersDropOut(t *testing.T) {
	t.Parallel()
	h, r := newHub(t)
	dir := t.TempDir()
	mkdirAll(t, filepath.Join(dir, "gone", "inner"))
	mkdirAll(t, filepath.Join(dir, "m", "n"))
	add(t, h, "k", Options{Paths: []string{dir}})
	if n := len(h.Watched("k")); n != 5 {
		t.Fatalf("Watched = %q, want 5 folders", h.Watched("k"))
	}

	if err := os.RemoveAll(filepath.Join(dir, "gone")); err != nil {
		t.Fatal(err)
	}
	if got := r.next(t, "k"); !slices.Contains(got, filepath.Join(dir, "gone")) {
		t.Fatalf("changed = %q, want it to list the removed folder", got)
	}
	if err := os.Rename(filepath.Join(dir, "m"), filepath.Join(dir, "m2")); err != nil {
		t.Fatal(err)
	}
	got := r.next(t, "k")
	// The old name, the new one, and what it holds (the moved tree is new to us).
	wantChanged(t, got, filepath.Join(dir, "m"), filepath.Join(dir, "m2"), filepath.Join(dir, "m2", "n"))
	want := []string{dir, filepath.Join(dir, "m2"), filepath.Join(dir, "m2", "n")}
	if got := h.Watched("k"); !slices.Equal(got, want) {
		t.Fatalf("Watched = %q, want %q", got, want)
	}
	if got := h.w.WatchList(); len(got) != len(want) {
		t.Fatalf("fsnotify watches %q, want %q", got, want)
	}
	// The moved folder's subfolder reports its new path, not the old one.
	f := filepath.Join(dir, "m2", "n", "f.txt")
	write(t, f, "x")
	wantChanged(t, r.next(t, "k"), f)
	r.noErr(t, "k")
}

func TestEditorSaveOfSingleFile(t *testing.T) {
	t.Parallel()
	h, r := newHub(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "app.toml")
	write(t, f, "v1")
	add(t, h, "k", Options{Paths: []string{f}})
	if got := h.Watched("k"); !slices.Equal(got, []string{dir}) {
		t.Fatalf("Watched = %q, want the file's folder", got)
	}

	// A sibling of the file is not ours.
	write(t, filepath.Join(dir, "other.toml"), "x")
	// Save as editors do: write a temporary file, rename it over.
	tmp := filepath.Join(dir, ".app.toml.tmp123")
	write(t, tmp, "v2")
	if err := os.Rename(tmp, f); err != nil {
		t.Fatal(err)
	}
	wantChanged(t, r.next(t, "k"), f)
	r.none(t, "k")

	// vim's default: move the original to a backup, write a new file.
	if err := os.Rename(f, f+"~"); err != nil {
		t.Fatal(err)
	}
	write(t, f, "v3")
	if err := os.Remove(f + "~"); err != nil {
		t.Fatal(err)
	}
	wantChanged(t, r.next(t, "k"), f)
	r.none(t, "k")
}

func TestFileAndFolderPathsTogether(t *testing.T) {
	t.Parallel()
	h, r := newHub(t)
	dir := t.TempDir()
	deep := filepath.Join(dir, "sub", "deep")
	mkdirAll(t, deep)
	cfg := filepath.Join(dir, "sub", "app.toml")
	write(t, cfg, "")
	// The file's folder comes first and is also inside the folder path.
	add(t, h, "k", Options{Paths: []string{cfg, dir}})
	want := []string{dir, filepath.Join(dir, "sub"), deep}
	if got := h.Watched("k"); !slices.Equal(got, want) {
		t.Fatalf("Watched = %q, want %q", got, want)
	}
	f := filepath.Join(deep, "x")
	write(t, f, "x")
	wantChanged(t, r.next(t, "k"), f)
}

func TestOverlappingKeysAndRemove(t *testing.T) {
	t.Parallel()
	h, r := newHub(t)
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	mkdirAll(t, sub)
	add(t, h, "a", Options{Paths: []string{dir}})
	add(t, h, "b", Options{Paths: []string{sub}})
	if got := h.w.WatchList(); len(got) != 2 {
		t.Fatalf("fsnotify watches %q, want each folder once", got)
	}

	f := filepath.Join(sub, "x.go")
	write(t, f, "x")
	wantChanged(t, r.next(t, "a"), f)
	wantChanged(t, r.next(t, "b"), f)

	top := filepath.Join(dir, "top.go")
	write(t, top, "x")
	wantChanged(t, r.next(t, "a"), top)

	h.Remove("a")
	if got := h.Watched("a"); got != nil {
		t.Fatalf("Watched(a) after Remove = %q", got)
	}
	if got := h.w.WatchList(); !slices.Equal(got, []string{sub}) {
		t.Fatalf("fsnotify watches %q after Remove(a), want only %s", got, sub)
	}
	g := filepath.Join(sub, "y.go")
	write(t, g, "x")
	write(t, top, "y")
	wantChanged(t, r.next(t, "b"), g)
	r.none(t, "a")
	r.none(t, "b")
}

func TestReplaceKeepsOnlyTheNewWatch(t *testing.T) {
	t.Parallel()
	h, r := newHub(t)
	one, two := t.TempDir(), t.TempDir()
	add(t, h, "k", Options{Paths: []string{one}})

	// A failed replace changes nothing.
	missing := filepath.Join(two, "nope")
	if err := h.Add("k", Options{Paths: []string{missing}}); err == nil {
		t.Fatal("Add of a missing path succeeded")
	}
	f := filepath.Join(one, "a")
	write(t, f, "x")
	wantChanged(t, r.next(t, "k"), f)

	add(t, h, "k", Options{Paths: []string{two}})
	if got := h.w.WatchList(); !slices.Equal(got, []string{two}) {
		t.Fatalf("fsnotify watches %q, want only %s", got, two)
	}
	write(t, filepath.Join(one, "b"), "x")
	g := filepath.Join(two, "c")
	write(t, g, "x")
	wantChanged(t, r.next(t, "k"), g)
}

func TestCallbackMayCallTheHub(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var h *Hub
	calls := make(chan []string, 10)
	h, err := New(func(key string, changed []string) {
		h.Remove(key) // as a daemon does when the process is deleted
		calls <- changed
	}, func(string, error) {})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	add(t, h, "k", Options{Paths: []string{dir}})
	write(t, filepath.Join(dir, "a"), "x")
	select {
	case <-calls:
	case <-time.After(failAfter):
		t.Fatal("no call")
	}
	write(t, filepath.Join(dir, "b"), "x")
	select {
	case c := <-calls:
		t.Fatalf("call after Remove: %q", c)
	case <-time.After(quiet):
	}
}

func TestAddErrors(t *testing.T) {
	t.Parallel()
	h, _ := newHub(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such")
	logs := filepath.Join(dir, "logs")
	mkdirAll(t, logs)
	for _, tt := range []struct {
		name string
		o    Options
		want string
	}{
		{"missing path", Options{Paths: []string{dir, missing}}, "watch " + missing + ": no such file or folder"},
		{"relative path", Options{Paths: []string{"src"}}, "watch src: not an absolute path"},
		{"no paths", Options{}, "watch: no paths given"},
		{"bad glob", Options{Paths: []string{dir}, Ignore: []string{"*.[ch"}}, `ignore pattern "*.[ch": bad glob`},
		{"negative debounce", Options{Paths: []string{dir}, Debounce: -time.Second}, "debounce -1s is negative"},
		{"path inside an ignored path", Options{Paths: []string{logs}, Ignore: []string{logs}}, "watch " + logs + ": the path is excluded by an ignore pattern"},
	} {
		err := h.Add("k", tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Add error %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
	err := h.Add("k", Options{Paths: []string{missing}})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing path: %v is not fs.ErrNotExist", err)
	}
	if got := h.Watched("k"); got != nil {
		t.Errorf("failed Adds left watches: %q", got)
	}
	if h.w != nil {
		if got := h.w.WatchList(); len(got) != 0 {
			t.Errorf("failed Adds left OS watches: %q", got)
		}
	}
}

func TestWatchedRootRemovedIsReportedOnce(t *testing.T) {
	t.Parallel()
	h, r := newHub(t)
	root := filepath.Join(t.TempDir(), "app")
	mkdirAll(t, filepath.Join(root, "a", "b"))
	add(t, h, "k", Options{Paths: []string{root}})
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	err := r.nextErr(t, "k")
	if !strings.Contains(err.Error(), "watch "+root+": the folder was removed") {
		t.Fatalf("onError: %v", err)
	}
	r.next(t, "k") // the removal is a change too
	r.none(t, "k")
	r.noErr(t, "k")
	if got := h.Watched("k"); len(got) != 0 {
		t.Fatalf("Watched after the root was removed = %q", got)
	}
}

// TestQueueOverflow makes the kernel drop events for real: the dispatcher is
// held while more events than fs.inotify.max_queued_events are made.
func TestQueueOverflow(t *testing.T) {
	t.Parallel()
	h, r := newHub(t)
	dir := t.TempDir()
	add(t, h, "k", Options{Paths: []string{dir}})
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	write(t, a, "")
	write(t, b, "")
	r.next(t, "k")

	overflow := func(newDir string) {
		h.mu.Lock()
		// Alternate two files: the kernel merges identical consecutive events.
		for i := range 40000 {
			p := a
			if i%2 == 1 {
				p = b
			}
			ts := time.Unix(int64(i), 0)
			if err := os.Chtimes(p, ts, ts); err != nil {
				h.mu.Unlock()
				t.Fatal(err)
			}
		}
		mkdirAll(t, newDir) // its event is lost: the queue is full
		h.mu.Unlock()
	}
	lost := filepath.Join(dir, "lost")
	overflow(lost)
	err := r.nextErr(t, "k")
	if !strings.Contains(err.Error(), "queue overflowed") {
		t.Fatalf("onError: %v", err)
	}
	// The rescan found the folder whose event was lost.
	if !slices.Contains(h.Watched("k"), lost) {
		t.Fatalf("%s not watched after the rescan: %q", lost, h.Watched("k"))
	}
	f := filepath.Join(lost, "f")
	write(t, f, "x")
	if got := r.next(t, "k"); !slices.Contains(got, f) {
		t.Fatalf("changed = %q, want it to list %s", got, f)
	}

	// Once per cause: a second overflow is not reported again.
	overflow(filepath.Join(dir, "lost2"))
	g := filepath.Join(dir, "lost2", "g")
	write(t, g, "x") // the signal that the dispatcher caught up
	for got := r.next(t, "k"); !slices.Contains(got, g); got = r.next(t, "k") {
	}
	r.noErr(t, "k")
}

func TestLongBurstIsReportedBeforeItEnds(t *testing.T) {
	t.Parallel()
	h, r := newHub(t)
	dir := t.TempDir()
	const d = 50 * time.Millisecond
	add(t, h, "k", Options{Paths: []string{dir}, Debounce: d})
	f := filepath.Join(dir, "busy.db")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a program that rewrites a file every d/5, never pausing d
		defer close(done)
		tick := time.NewTicker(d / 5)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = os.WriteFile(f, []byte(time.Now().String()), 0o644)
			}
		}
	}()
	defer func() { close(stop); <-done }()
	wantChanged(t, r.next(t, "k"), f)
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	// Not parallel: it counts the process's goroutines.
	before := runtime.NumGoroutine()
	h, r := newHub(t)
	dir := t.TempDir()
	add(t, h, "k", Options{Paths: []string{dir}})
	write(t, filepath.Join(dir, "a"), "x")
	r.next(t, "k")
	write(t, filepath.Join(dir, "b"), "x") // a burst still open at Close
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	// Close waits for its goroutines; poll only for the runtime's own
	// bookkeeping of the ones that just returned.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before New, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := h.Add("k", Options{Paths: []string{dir}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v, want ErrClosed", err)
	}
	h.Remove("k") // harmless after Close
	if err := h.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestNewNeedsCallbacks(t *testing.T) {
	if _, err := New(nil, func(string, error) {}); err == nil {
		t.Fatal("New(nil, …) succeeded")
	}
}

func TestCallsForAKeyNeverOverlap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	release := make(chan struct{})
	calls := make(chan []string, 10)
	var inCall sync.Mutex
	h, err := New(func(key string, changed []string) {
		if !inCall.TryLock() {
			t.Errorf("overlapping onChange calls for %s", key)
			return
		}
		defer inCall.Unlock()
		calls <- changed
		<-release // a slow callback: a rolling reload
	}, func(string, error) {})
	if err != nil {
		t.Fatal(err)
	}
	add(t, h, "k", Options{Paths: []string{dir}})
	a := filepath.Join(dir, "a")
	write(t, a, "x")
	select {
	case c := <-calls:
		wantChanged(t, c, a)
	case <-time.After(failAfter):
		t.Fatal("no call")
	}
	// Two bursts end while the first call still runs.
	b, c := filepath.Join(dir, "b"), filepath.Join(dir, "c")
	for _, p := range []string{b, c} {
		write(t, p, "x")
		select { // the burst ends in this wait; no call may start
		case got := <-calls:
			t.Fatalf("a call while the first one runs: %q", got)
		case <-time.After(quiet):
		}
	}
	close(release)
	select {
	case got := <-calls:
		wantChanged(t, got, b, c) // merged into one
	case <-time.After(failAfter):
		t.Fatal("no call after the first returned")
	}
	select {
	case got := <-calls:
		t.Fatalf("a third call: %q", got)
	case <-time.After(quiet):
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
}
