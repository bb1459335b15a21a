package state

import (
	"sort"
	"sync"
)

// Table is the daemon's record of how each process was asked for — its
// config form, profile and folder — by name. It is what `velos save` writes,
// what config_get reads and config_set changes. Safe for concurrent use.
type Table struct {
	mu    sync.Mutex
	m     map[string]Entry
	order map[string]int // insertion order, so a dump lists processes as they were started
	next  int
	// onChange is called after every Put and Delete, outside the lock.
	onChange func()
}

// OnChange sets f to be called after every change (the daemon writes its
// runtime state, which carries the table). Set it before the table is shared.
func (t *Table) OnChange(f func()) { t.onChange = f }

func (t *Table) changed() {
	if t.onChange != nil {
		t.onChange()
	}
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{m: map[string]Entry{}, order: map[string]int{}} }

// Put records (or replaces) the entry for e.Name.
func (t *Table) Put(e Entry) {
	t.mu.Lock()
	if _, ok := t.m[e.Name]; !ok {
		t.order[e.Name] = t.next
		t.next++
	}
	t.m[e.Name] = e
	t.mu.Unlock()
	t.changed()
}

// Get returns the entry for name.
func (t *Table) Get(name string) (Entry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[name]
	return e, ok
}

// Delete forgets name.
func (t *Table) Delete(name string) {
	t.mu.Lock()
	delete(t.m, name)
	delete(t.order, name)
	t.mu.Unlock()
	t.changed()
}

// All returns every entry in the order they were first put.
func (t *Table) All() []Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Entry, 0, len(t.m))
	for _, e := range t.m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return t.order[out[i].Name] < t.order[out[j].Name] })
	return out
}
