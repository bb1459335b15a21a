package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is the quiet time that ends a burst when
// [Options.Debounce] is 0.
const DefaultDebounce = 300 * time.Millisecond

// MaxChanged caps the paths passed to one onChange call. A burst that
// touches more (a git checkout, an npm build) still makes one call, with the
// first MaxChanged distinct paths seen, sorted.
const MaxChanged = 100

// maxBurst is how many debounce periods a burst may last before it is
// reported anyway: a folder written to without pause (a program rewriting a
// file every 100 ms) must not hold a real change back forever.
const maxBurst = 10

// Options for one watched process.
type Options struct {
	// Paths are absolute files or folders; folders are watched recursively.
	Paths []string
	// Ignore holds globs and absolute paths (see the package documentation).
	// [DefaultIgnore] always applies too.
	Ignore []string
	// Debounce is the quiet time that ends a burst; 0 means [DefaultDebounce].
	Debounce time.Duration
}

// Hub watches files for any number of keys (one per watched process) with
// one OS watcher: inotify instances are limited per user (128 by default),
// so a daemon has one Hub. The OS watcher and its goroutine start at the
// first [Hub.Add]. Safe for concurrent use.
type Hub struct {
	onChange func(key string, changed []string)
	onError  func(key string, err error)
	kick     chan struct{} // a key's deadline changed outside the dispatcher

	mu     sync.Mutex
	w      *fsnotify.Watcher // nil until the first Add
	keys   map[string]*key
	dirs   map[string]map[*key]struct{} // folder → keys that watch it; w watches exactly these
	busy   map[string]bool              // names with a delivery goroutine
	closed bool
	quit   chan struct{}  // closed by Close: the dispatcher returns
	done   chan struct{}  // closed when the dispatcher has returned
	calls  sync.WaitGroup // delivery goroutines
}

// root is one entry of [Options.Paths].
type root struct {
	path string
	file bool // a single file: its folder is watched, other names in it are not ours
}

// config is a checked [Options].
type config struct {
	roots    []root
	ign      matcher
	debounce time.Duration
}

// key is the state of one Add: what it watches, the burst being collected,
// and what waits to be delivered.
type key struct {
	name string
	cfg  config
	dirs map[string]struct{} // folders watched for this key

	changed     map[string]struct{} // the current burst, not yet due
	first, last time.Time           // of the current burst; zero when none
	ready       map[string]struct{} // due, waiting for delivery
	errs        []error             // waiting for delivery
	reported    map[string]bool     // run-time error causes already reported
}

// New returns a Hub that calls onChange(key, changed) once per burst of
// changes, with the distinct changed paths (absolute, sorted, at most
// [MaxChanged]), and onError(key, err) once per cause for run-time errors
// (a new folder that cannot be watched, the watch limit, a watched folder
// removed, lost events).
//
// Calls for one key never overlap: changes that end while onChange runs are
// merged into the next call. Calls run on their own goroutine, so a callback
// may take its time (run a rolling reload) and may call [Hub.Add] and
// [Hub.Remove]; it must not call [Hub.Close], which waits for callbacks.
func New(onChange func(key string, changed []string), onError func(key string, err error)) (*Hub, error) {
	if onChange == nil || onError == nil {
		return nil, errors.New("watch: New needs both callbacks")
	}
	return &Hub{
		onChange: onChange,
		onError:  onError,
		kick:     make(chan struct{}, 1),
		keys:     make(map[string]*key),
		dirs:     make(map[string]map[*key]struct{}),
		busy:     make(map[string]bool),
	}, nil
}

// Add starts watching o.Paths for name, replacing an earlier Add of the same
// name (changes it had collected are kept). The paths must exist; every
// folder below a folder path is watched unless ignored. On error nothing
// changes: an earlier Add of name keeps working.
func (h *Hub) Add(name string, o Options) error {
	cfg, err := compile(o)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if h.w == nil {
		if err := h.start(); err != nil {
			return err
		}
	}
	k := h.keys[name]
	if k == nil {
		k = &key{name: name, dirs: make(map[string]struct{}), reported: make(map[string]bool)}
	}
	want := make(map[string]struct{})
	var added []string
	visit := func(d string) (bool, error) {
		if _, ok := want[d]; ok {
			return false, nil // overlapping roots: walked already
		}
		want[d] = struct{}{}
		if _, ok := k.dirs[d]; ok {
			return true, nil
		}
		if err := h.watchDir(d, k); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return false, nil // removed while we walked
			}
			return false, addError(d, err)
		}
		added = append(added, d)
		return true, nil
	}
	fail := func(err error) error { return err }
	// Folders first: a file's folder seen first would stop the walk there.
	roots := slices.Clone(cfg.roots)
	slices.SortStableFunc(roots, func(a, b root) int { return cmpBool(a.file, b.file) })
	for _, r := range roots {
		if r.file {
			_, err = visit(filepath.Dir(r.path))
		} else {
			err = walk(&cfg, r.path, r.path, visit, nil, fail)
		}
		if err != nil {
			for _, d := range added {
				h.unwatchDir(d, k)
			}
			return err
		}
	}
	for d := range k.dirs {
		if _, ok := want[d]; !ok {
			h.unwatchDir(d, k)
		}
	}
	k.cfg = cfg
	h.keys[name] = k
	h.poke() // a replaced key may carry a burst whose deadline moved
	return nil
}

// Remove stops watching for name. No onChange or onError call for name
// starts after Remove returns; one already running is not waited for (so a
// callback may call Remove).
func (h *Hub) Remove(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := h.keys[name]
	if k == nil {
		return
	}
	delete(h.keys, name)
	for d := range k.dirs {
		h.unwatchDir(d, k)
	}
}

// Close stops all watching and returns when no goroutine of the Hub is
// left, callbacks included. Later calls to Add fail with [ErrClosed].
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	w := h.w
	h.mu.Unlock()

	var err error
	if w != nil {
		close(h.quit)
		<-h.done
		err = w.Close() // returns when fsnotify's reader goroutine has
	}
	h.calls.Wait()
	return err
}

// Watched returns the folders watched for name, sorted: the folders below
// its paths that are not ignored, and the folder of each single file.
func (h *Hub) Watched(name string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := h.keys[name]
	if k == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(k.dirs))
}

// compile checks o; its errors name the path or pattern at fault.
func compile(o Options) (config, error) {
	if len(o.Paths) == 0 {
		return config{}, errors.New("watch: no paths given")
	}
	if o.Debounce < 0 {
		return config{}, fmt.Errorf("watch: debounce %s is negative", o.Debounce)
	}
	c := config{debounce: o.Debounce}
	if c.debounce == 0 {
		c.debounce = DefaultDebounce
	}
	var err error
	if c.ign, err = compileIgnore(append(slices.Clone(DefaultIgnore), o.Ignore...)); err != nil {
		return config{}, fmt.Errorf("watch: %w", err)
	}
	for _, p := range o.Paths {
		if !filepath.IsAbs(p) {
			return config{}, fmt.Errorf("watch %s: not an absolute path", p)
		}
		p = filepath.Clean(p)
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return config{}, &pathError{fmt.Sprintf("watch %s: no such file or folder", p), err}
		}
		if err != nil {
			return config{}, addError(p, err)
		}
		if c.ign.ignored(nil, p) {
			return config{}, fmt.Errorf("watch %s: the path is excluded by an ignore pattern", p)
		}
		c.roots = append(c.roots, root{path: p, file: !fi.IsDir()})
	}
	return c, nil
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// pathError is an error with our own text that still unwraps to its cause.
type pathError struct {
	msg string
	err error
}

func (e *pathError) Error() string { return e.msg }
func (e *pathError) Unwrap() error { return e.err }

// start creates the OS watcher and the dispatcher. h.mu is held.
func (h *Hub) start() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return newWatcherError(err)
	}
	h.w = w
	h.quit = make(chan struct{})
	h.done = make(chan struct{})
	go h.run(w, h.quit)
	return nil
}

// watchDir records that k watches d, asking the OS only for the first key.
// h.mu is held.
func (h *Hub) watchDir(d string, k *key) error {
	set := h.dirs[d]
	if set == nil {
		if err := h.w.Add(d); err != nil {
			return err
		}
		set = make(map[*key]struct{})
		h.dirs[d] = set
	}
	set[k] = struct{}{}
	k.dirs[d] = struct{}{}
	return nil
}

// unwatchDir undoes watchDir; the OS watch goes with the last key. h.mu is
// held.
func (h *Hub) unwatchDir(d string, k *key) {
	delete(k.dirs, d)
	set := h.dirs[d]
	if set == nil {
		return
	}
	delete(set, k)
	if len(set) == 0 {
		delete(h.dirs, d)
		// An error means the watch is gone already (the folder was removed).
		_ = h.w.Remove(d)
	}
}

// walk calls visit for dir and for every folder below it that cfg does not
// ignore (visit adds the watch and says whether to go below), and found,
// when not nil, for every such file. It watches a folder before reading it,
// so nothing created meanwhile is missed. Errors go to fail, which says
// whether to stop (Add) or go on (a folder that appeared at run time).
func walk(cfg *config, root, dir string, visit func(string) (bool, error), found func(string), fail func(error) error) error {
	descend, err := visit(dir)
	if err != nil {
		return fail(err)
	}
	if !descend {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		if err := fail(addError(dir, err)); err != nil {
			return err
		}
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		rel, _ := relElems(root, p)
		if cfg.ign.ignored(rel, p) {
			continue
		}
		if !e.IsDir() { // symlinks to folders are not followed: no loops
			if found != nil {
				found(p)
			}
			continue
		}
		if err := walk(cfg, root, p, visit, found, fail); err != nil {
			return err
		}
	}
	return nil
}

// grow watches dir and the folders below it for k at run time: a folder that
// appeared, or a rescan after lost events. The folders it newly watches, and
// the files in them, are changes: they were made while no watch saw them
// (`mkdir -p a/b && echo > a/b/f` is done before the event for a is read).
// h.mu is held.
func (h *Hub) grow(k *key, rootPath, dir string, now time.Time) {
	fresh := make(map[string]bool)
	visit := func(d string) (bool, error) {
		if _, ok := k.dirs[d]; ok {
			return true, nil
		}
		if err := h.watchDir(d, k); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return false, nil
			}
			return false, addError(d, err)
		}
		fresh[d] = true
		k.note(d, now)
		return true, nil
	}
	found := func(p string) {
		if fresh[filepath.Dir(p)] {
			k.note(p, now)
		}
	}
	fail := func(err error) error {
		h.report(k, cause(err), err)
		return nil
	}
	_ = walk(&k.cfg, rootPath, dir, visit, found, fail)
}

// run is the dispatcher: it turns fsnotify's events into bursts per key and
// hands finished bursts to delivery goroutines.
func (h *Hub) run(w *fsnotify.Watcher, quit <-chan struct{}) {
	defer close(h.done)
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			h.handle(ev)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			h.fail(err)
		case <-t.C:
		case <-h.kick:
		}
		if next, ok := h.flush(time.Now()); ok {
			t.Reset(time.Until(next))
		} else {
			t.Stop()
		}
	}
}

// poke wakes the dispatcher to recompute its deadline.
func (h *Hub) poke() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// changeOps are the events that count; a Chmod alone does not (touching
// permissions or atime is not a change of content).
const changeOps = fsnotify.Create | fsnotify.Write | fsnotify.Remove | fsnotify.Rename

func (h *Hub) handle(ev fsnotify.Event) {
	if !ev.Has(changeOps) {
		return
	}
	p := filepath.Clean(ev.Name)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if ev.Has(fsnotify.Remove | fsnotify.Rename) {
		h.forget(p)
	}
	newDir := false
	if ev.Has(fsnotify.Create) {
		fi, err := os.Lstat(p)
		newDir = err == nil && fi.IsDir()
	}
	now := time.Now()
	for _, k := range h.keys {
		r := k.match(p)
		if r == nil {
			continue
		}
		if newDir && !r.file {
			// Walk, not just watch: `mkdir -p a/b/c` makes b and c before
			// the event for a is read.
			h.grow(k, r.path, p, now)
		}
		k.note(p, now)
	}
}

// forget drops the watches of a removed or moved-away folder p and of the
// folders below it: the kernel dropped p's own watch, but a moved folder's
// subfolders keep theirs under paths that are no longer true. A moved
// folder that stays inside a watched tree comes back as a Create. h.mu is
// held.
func (h *Hub) forget(p string) {
	if _, ok := h.dirs[p]; !ok {
		return
	}
	for d, set := range h.dirs {
		if _, below := relElems(p, d); !below {
			continue
		}
		for k := range set {
			delete(k.dirs, d)
			if k.isRootDir(d) {
				h.report(k, "gone:"+d, fmt.Errorf("watch %s: the folder was removed or moved away; changes in it are no longer seen", d))
			}
		}
		delete(h.dirs, d)
		_ = h.w.Remove(d)
	}
}

// fail handles an error from fsnotify itself.
func (h *Hub) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	lost := errors.Is(err, fsnotify.ErrEventOverflow)
	now := time.Now()
	for _, k := range h.keys {
		if !lost {
			h.report(k, cause(err), fmt.Errorf("watch: %w", err))
			continue
		}
		// Events were dropped, new folders among them maybe: rescan.
		for d := range k.dirs {
			if _, err := os.Stat(d); err != nil {
				h.unwatchDir(d, k)
			}
		}
		for _, r := range k.cfg.roots {
			if !r.file {
				h.grow(k, r.path, r.path, now)
			} else if d := filepath.Dir(r.path); !k.watches(d) {
				if err := h.watchDir(d, k); err != nil {
					h.report(k, cause(err), addError(d, err))
				}
			}
		}
		h.report(k, "overflow", fmt.Errorf("watch: the kernel's event queue overflowed and some changes were missed; the folders were rescanned (raise fs.inotify.max_queued_events if this repeats): %w", err))
	}
}

// match returns the root of k that p belongs to, or nil when p is not k's
// (outside its paths, ignored, or a sibling of a watched single file).
func (k *key) match(p string) *root {
	for i := range k.cfg.roots {
		r := &k.cfg.roots[i]
		if r.file {
			if p == r.path {
				return r
			}
			continue
		}
		if rel, ok := relElems(r.path, p); ok && !k.cfg.ign.ignored(rel, p) {
			return r
		}
	}
	return nil
}

func (k *key) watches(d string) bool {
	_, ok := k.dirs[d]
	return ok
}

// isRootDir reports whether d is a folder k cannot do without: a watched
// folder path, or the folder of a watched file.
func (k *key) isRootDir(d string) bool {
	for _, r := range k.cfg.roots {
		if (!r.file && r.path == d) || (r.file && filepath.Dir(r.path) == d) {
			return true
		}
	}
	return false
}

// note adds p to the current burst of k.
func (k *key) note(p string, now time.Time) {
	if k.first.IsZero() {
		k.first = now
		k.changed = make(map[string]struct{})
	}
	k.last = now
	if len(k.changed) < MaxChanged {
		k.changed[p] = struct{}{}
	}
}

// burstEnd is when a burst that started at first and last saw an event at
// last is reported: after debounce of quiet, or maxBurst debounces after it
// started, whichever comes first.
func burstEnd(first, last time.Time, debounce time.Duration) time.Time {
	end := last.Add(debounce)
	if limit := first.Add(maxBurst * debounce); limit.Before(end) {
		return limit
	}
	return end
}

// flush moves the bursts that are over to delivery and returns the next
// deadline, if any.
func (h *Hub) flush(now time.Time) (next time.Time, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range h.keys {
		if k.first.IsZero() {
			continue
		}
		end := burstEnd(k.first, k.last, k.cfg.debounce)
		if end.After(now) {
			if !ok || end.Before(next) {
				next, ok = end, true
			}
			continue
		}
		if k.ready == nil {
			k.ready = make(map[string]struct{})
		}
		for p := range k.changed {
			if len(k.ready) >= MaxChanged {
				break
			}
			k.ready[p] = struct{}{}
		}
		k.changed, k.first, k.last = nil, time.Time{}, time.Time{}
		h.deliver(k)
	}
	return next, ok
}

// report queues a run-time error for k unless its cause was reported
// already. h.mu is held.
func (h *Hub) report(k *key, cause string, err error) {
	if k.reported[cause] {
		return
	}
	k.reported[cause] = true
	k.errs = append(k.errs, err)
	h.deliver(k)
}

// deliver starts the delivery goroutine of k's name unless it runs
// already. h.mu is held.
func (h *Hub) deliver(k *key) {
	if h.busy[k.name] || h.closed {
		return
	}
	h.busy[k.name] = true
	h.calls.Add(1)
	go h.deliverLoop(k.name)
}

// deliverLoop makes the calls for name one after the other until nothing is
// left. It serves whatever key has the name now, so calls never overlap,
// not even across a Remove and a new Add.
func (h *Hub) deliverLoop(name string) {
	defer h.calls.Done()
	for {
		h.mu.Lock()
		k := h.keys[name]
		if h.closed || k == nil || (len(k.errs) == 0 && len(k.ready) == 0) {
			delete(h.busy, name)
			h.mu.Unlock()
			return
		}
		if len(k.errs) > 0 {
			err := k.errs[0]
			k.errs = k.errs[1:]
			h.mu.Unlock()
			h.onError(name, err)
			continue
		}
		changed := slices.Sorted(maps.Keys(k.ready))
		k.ready = nil
		h.mu.Unlock()
		h.onChange(name, changed)
	}
}
