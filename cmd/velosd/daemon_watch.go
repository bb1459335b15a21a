package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/velos-pm/velos/core/supervisor"
	"github.com/velos-pm/velos/core/watch"
)

// watcher restarts the processes whose watched files change: one key of the
// daemon's watch hub per process name with watch set, kept in step with the
// specs by sync. A change reloads the process (rolling, new instance ready
// before the old one stops, where Velos holds its port) with cause
// "watch <path>".
type watcher struct {
	ctx    context.Context
	procs  func() *supervisor.Manager
	log    *slog.Logger
	ignore []string // always ignored: the daemon's home (logs, sockets, dump)
	hub    *watch.Hub

	mu     sync.Mutex
	keys   map[string]string // name → the options it was added with (JSON)
	guards map[string]*loopGuard
}

// loopGuard notices a program that writes into its own watched folder: a
// change that comes right after each of three restarts the watch caused.
type loopGuard struct {
	doneAt time.Time // when the last watch restart finished
	last   []string  // what changed then
	streak int       // changes in a row of the same files, each right after a restart
	paused []string  // files found changing at each start, not restarted on…
	until  time.Time // …until then
}

// loopStreak changes in a row of the same files, each within the quiet
// time plus loopWindow of the restart before, make a loop; its files are
// then not restarted on for loopPause.
const (
	loopStreak = 3
	loopWindow = 2 * time.Second
	loopPause  = time.Minute
)

func newWatcher(ctx context.Context, home string, procs func() *supervisor.Manager, log *slog.Logger) (*watcher, error) {
	w := &watcher{ctx: ctx, procs: procs, log: log, ignore: []string{home},
		keys: map[string]string{}, guards: map[string]*loopGuard{}}
	hub, err := watch.New(w.changed, func(name string, err error) {
		log.Warn("watch", "name", name, "err", err)
	})
	if err != nil {
		return nil, err
	}
	w.hub = hub
	return w, nil
}

// options is what name's watch is made of, from its spec.
func (w *watcher) options(s supervisor.Spec) watch.Options {
	return watch.Options{Paths: s.Watch, Ignore: slices.Concat(s.WatchIgnore, w.ignore), Debounce: s.WatchDebounce}
}

// sync adds, replaces and removes keys so that exactly the processes with
// watch set are watched, as their specs say.
func (w *watcher) sync(list []supervisor.Info) {
	w.mu.Lock()
	defer w.mu.Unlock()
	want := map[string]supervisor.Spec{}
	for _, in := range list {
		if len(in.Spec.Watch) > 0 {
			want[in.Name] = in.Spec
		}
	}
	for name := range w.keys {
		if _, ok := want[name]; !ok {
			w.hub.Remove(name)
			delete(w.keys, name)
			delete(w.guards, name)
		}
	}
	for name, s := range want {
		o := w.options(s)
		fp, _ := json.Marshal(o)
		if w.keys[name] == string(fp) {
			continue
		}
		if err := w.hub.Add(name, o); err != nil {
			w.log.Warn("watch", "name", name, "err", err)
			continue
		}
		w.keys[name] = string(fp)
	}
}

// changed is the hub's callback: one settled burst of changes for name.
// Calls for one name never overlap, so the reload runs here.
func (w *watcher) changed(name string, paths []string) {
	w.mu.Lock()
	g := w.guards[name]
	if g == nil {
		g = &loopGuard{}
		w.guards[name] = g
	}
	var spec supervisor.Spec
	var ids []int // what a change restarts
	for _, in := range w.procs().List() {
		if in.Name == name {
			spec = in.Spec
			// Not what was stopped on purpose, nor what is starting (it runs
			// the new files already, and its own first writes land now).
			switch in.Status {
			case supervisor.Stopped, supervisor.Stopping, supervisor.Launching:
			default:
				ids = append(ids, in.ID)
			}
		}
	}
	if len(spec.Watch) == 0 || len(ids) == 0 {
		w.mu.Unlock()
		return
	}
	now := time.Now()
	if now.Before(g.until) && subset(paths, g.paused) {
		w.mu.Unlock() // only the files of a loop changed: not a reason to restart
		return
	}
	quiet := max(spec.WatchDebounce, watch.DefaultDebounce)
	if !g.doneAt.IsZero() && now.Sub(g.doneAt) < quiet+loopWindow && overlap(g.last, paths) {
		g.streak++
	} else {
		g.streak = 0
	}
	g.last = paths
	if g.streak >= loopStreak-1 {
		// The program writes these itself at each start: no restart on them
		// for a while (a person saving a file is not stopped for long), and
		// say how to keep it so.
		g.paused, g.until, g.streak = paths, now.Add(loopPause), 0
		w.mu.Unlock()
		w.log.Warn("watch: a restart loop: these files change right after each start, so the program probably writes them itself; changes to them alone restart nothing for "+loopPause.String()+" (add them to watch_ignore to keep it so)",
			"name", name, "paths", strings.Join(paths, ", "))
		return
	}
	w.mu.Unlock()

	cause := supervisor.Cause(fmt.Sprintf("%s %s", supervisor.CauseWatch, shortPath(spec.Cwd, paths[0])))
	if len(paths) > 1 {
		cause += supervisor.Cause(fmt.Sprintf(" (+%d)", len(paths)-1))
	}
	for _, id := range ids {
		if _, err := w.procs().ReloadRunning(w.ctx, strconv.Itoa(id), cause); err != nil {
			w.log.Warn("watch reload", "name", name, "id", id, "err", err)
			break
		}
	}
	w.mu.Lock()
	g.doneAt = time.Now()
	w.mu.Unlock()
}

// subset reports whether every path of a (sorted) is in b (sorted).
func subset(a, b []string) bool {
	for _, p := range a {
		if _, ok := slices.BinarySearch(b, p); !ok {
			return false
		}
	}
	return true
}

// overlap reports whether a and b (sorted) share a path.
func overlap(a, b []string) bool {
	for _, p := range a {
		if _, ok := slices.BinarySearch(b, p); ok {
			return true
		}
	}
	return false
}

// shortPath is p relative to dir when inside it.
func shortPath(dir, p string) string {
	if rel, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

func (w *watcher) close() error { return w.hub.Close() }
