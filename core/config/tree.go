package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// Pos is a 1-based line and column in a config file.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// kind is the TOML type of a value in the positioned tree.
type kind int

const (
	kString kind = iota + 1
	kInt
	kFloat
	kBool
	kDate
	kArray
	kTable
)

// article names a kind for messages: "want an integer, got a string".
func (k kind) article() string {
	switch k {
	case kString:
		return "a string"
	case kInt:
		return "an integer"
	case kFloat:
		return "a number"
	case kBool:
		return "a boolean"
	case kDate:
		return "a date"
	case kArray:
		return "an array"
	case kTable:
		return "a table"
	}
	return "nothing"
}

// value is one TOML value with the position where it starts. The tree is our
// own rather than go-toml's decoder output because the decoder stops at the
// first type error and forgets positions; here every key and value keeps
// its line and column so all problems can be reported at once.
type value struct {
	kind  kind
	pos   Pos
	str   string // kString, and the raw text of kDate
	i     int64
	f     float64
	b     bool
	items []*value
	tab   *table
}

// describe renders v for a type-mismatch message.
func (v *value) describe() string {
	switch v.kind {
	case kString:
		return fmt.Sprintf("a string (%q)", v.str)
	case kInt:
		return fmt.Sprintf("an integer (%d)", v.i)
	case kFloat:
		return fmt.Sprintf("a number (%g)", v.f)
	case kBool:
		return fmt.Sprintf("a boolean (%t)", v.b)
	}
	return v.kind.article()
}

// table is an ordered TOML table.
type table struct {
	keys    []string
	entries map[string]*entry
	// How the table came to be, to refuse redefinitions as TOML does.
	explicit bool // by a [header], a dotted key or an inline table
	sealed   bool // an inline table: nothing may be added later
	arrayOf  bool // the value holding it is an array of tables
}

// entry is a key of a table: where the key was written and its value.
type entry struct {
	keyPos Pos
	val    *value
}

func newTable() *table { return &table{entries: map[string]*entry{}} }

func (t *table) get(k string) *entry { return t.entries[k] }

func (t *table) set(k string, e *entry) {
	t.keys = append(t.keys, k)
	t.entries[k] = e
}

// syntaxError is a TOML syntax error at a position.
type syntaxError struct {
	pos Pos
	msg string
}

// treeBuilder turns the go-toml AST into a positioned tree.
type treeBuilder struct {
	p        *unstable.Parser
	data     []byte
	lines    []int // offsets where lines start
	problems []Problem
}

// parseTree parses data into a positioned tree. A syntax error ends parsing
// (go-toml cannot recover from one); structural errors such as a key or
// table defined twice are collected and parsing goes on.
func parseTree(data []byte) (*table, []Problem, *syntaxError) {
	// A slice whose capacity equals its length lets us locate any sub-slice
	// the parser hands back (its offset is the difference in capacity).
	data = data[:len(data):len(data)]
	b := &treeBuilder{p: &unstable.Parser{}, data: data}
	b.p.Reset(data)
	root := newTable()
	root.explicit = true
	cur := root
	var curPath []string
	for b.p.NextExpression() {
		e := b.p.Expression()
		switch e.Kind {
		case unstable.KeyValue:
			b.keyval(cur, curPath, e)
		case unstable.Table, unstable.ArrayTable:
			cur, curPath = b.header(root, e)
		}
	}
	if err := b.p.Error(); err != nil {
		se := &syntaxError{pos: b.offsetPos(len(data)), msg: err.Error()}
		if pe, ok := err.(*unstable.ParserError); ok {
			se.pos = b.slicePos(pe.Highlight)
			se.msg = pe.Message
		}
		return nil, b.problems, se
	}
	return root, b.problems, nil
}

// slicePos is the position of a sub-slice of the document; anything that is
// not one (go-toml sometimes highlights an empty tail) maps to the end.
func (b *treeBuilder) slicePos(s []byte) Pos {
	off := len(b.data)
	if s != nil {
		if o := cap(b.data) - cap(s); o >= 0 && o <= len(b.data) {
			off = o
		}
	}
	return b.offsetPos(off)
}

// offsetPos turns a byte offset into a line and column (columns count
// bytes, as go-toml's do). Line starts are indexed once so that a large file
// does not cost a rescan per key.
func (b *treeBuilder) offsetPos(off int) Pos {
	if b.lines == nil {
		b.lines = []int{0}
		for i, c := range b.data {
			if c == '\n' {
				b.lines = append(b.lines, i+1)
			}
		}
	}
	// The last line start at or before off.
	i := sort.SearchInts(b.lines, off+1) - 1
	return Pos{Line: i + 1, Col: off - b.lines[i] + 1}
}

func (b *treeBuilder) rangePos(r unstable.Range) Pos {
	return b.offsetPos(int(r.Offset))
}

func (b *treeBuilder) problem(pos Pos, path []string, format string, args ...any) {
	b.problems = append(b.problems, Problem{Line: pos.Line, Col: pos.Col, Key: joinKey(path), Msg: fmt.Sprintf(format, args...)})
}

type keyPart struct {
	name string
	pos  Pos
}

func (b *treeBuilder) keyParts(it unstable.Iterator) []keyPart {
	var parts []keyPart
	for it.Next() {
		n := it.Node()
		parts = append(parts, keyPart{name: string(n.Data), pos: b.rangePos(n.Raw)})
	}
	return parts
}

// keyval adds `a.b.c = v` to t, whose own path is base.
func (b *treeBuilder) keyval(t *table, base []string, e *unstable.Node) {
	parts := b.keyParts(e.Key())
	path := append([]string(nil), base...)
	for _, kp := range parts[:len(parts)-1] {
		path = append(path, kp.name)
		next := b.descend(t, kp, path, false)
		if next == nil {
			return
		}
		t = next
	}
	last := parts[len(parts)-1]
	path = append(path, last.name)
	if t.sealed {
		b.problem(last.pos, path, "cannot add a key to an inline table")
		return
	}
	if old := t.get(last.name); old != nil {
		b.problem(last.pos, path, "set twice (first at line %d)", old.keyPos.Line)
		return
	}
	t.set(last.name, &entry{keyPos: last.pos, val: b.value(e.Value(), last.pos, path)})
}

// descend walks into (or creates) the table t[kp]. In a header the last
// element of an array of tables is entered, as TOML says.
func (b *treeBuilder) descend(t *table, kp keyPart, path []string, header bool) *table {
	old := t.get(kp.name)
	if old == nil {
		nt := newTable()
		nt.explicit = !header // dotted keys define their tables
		t.set(kp.name, &entry{keyPos: kp.pos, val: &value{kind: kTable, pos: kp.pos, tab: nt}})
		return nt
	}
	switch {
	case old.val.kind == kTable && !old.val.tab.sealed:
		return old.val.tab
	case old.val.kind == kArray && header && len(old.val.items) > 0 && old.val.items[len(old.val.items)-1].kind == kTable && old.val.items[0].tab != nil && old.val.items[0].tab.arrayOf:
		return old.val.items[len(old.val.items)-1].tab
	}
	b.problem(kp.pos, path, "already set to %s at line %d", old.val.kind.article(), old.keyPos.Line)
	return nil
}

// header handles [a.b] and [[a.b]] and returns the table that following
// keys go into. On error it returns a detached table so that the keys below
// are still checked.
func (b *treeBuilder) header(root *table, e *unstable.Node) (*table, []string) {
	parts := b.keyParts(e.Key())
	var path []string
	for _, kp := range parts {
		path = append(path, kp.name)
	}
	detached := newTable()
	t := root
	for i, kp := range parts[:len(parts)-1] {
		if t = b.descend(t, kp, path[:i+1], true); t == nil {
			return detached, path
		}
	}
	last := parts[len(parts)-1]
	old := t.get(last.name)
	if e.Kind == unstable.ArrayTable {
		nt := newTable()
		nt.explicit, nt.arrayOf = true, true
		item := &value{kind: kTable, pos: last.pos, tab: nt}
		switch {
		case old == nil:
			t.set(last.name, &entry{keyPos: last.pos, val: &value{kind: kArray, pos: last.pos, items: []*value{item}}})
		case old.val.kind == kArray && len(old.val.items) > 0 && old.val.items[0].tab != nil && old.val.items[0].tab.arrayOf:
			old.val.items = append(old.val.items, item)
		default:
			b.problem(last.pos, path, "already set to %s at line %d", old.val.kind.article(), old.keyPos.Line)
			return detached, path
		}
		return nt, path
	}
	switch {
	case old == nil:
		nt := newTable()
		nt.explicit = true
		t.set(last.name, &entry{keyPos: last.pos, val: &value{kind: kTable, pos: last.pos, tab: nt}})
		return nt, path
	case old.val.kind == kTable && !old.val.tab.explicit:
		old.val.tab.explicit = true
		old.keyPos, old.val.pos = last.pos, last.pos
		return old.val.tab, path
	case old.val.kind == kTable && len(path) == 2 && path[0] == "process":
		b.problem(last.pos, path, "duplicate process name %q (first defined at line %d)", last.name, old.keyPos.Line)
	case old.val.kind == kTable:
		b.problem(last.pos, path, "table defined twice (first at line %d)", old.keyPos.Line)
	default:
		b.problem(last.pos, path, "already set to %s at line %d", old.val.kind.article(), old.keyPos.Line)
	}
	return detached, path
}

// value converts an AST value; fallback is used where go-toml keeps no
// position (arrays).
func (b *treeBuilder) value(n *unstable.Node, fallback Pos, path []string) *value {
	pos := fallback
	if n.Raw.Length > 0 || n.Raw.Offset > 0 {
		pos = b.rangePos(n.Raw)
	}
	v := &value{pos: pos}
	switch n.Kind {
	case unstable.String:
		v.kind, v.str = kString, string(n.Data)
	case unstable.Bool:
		v.kind, v.b = kBool, string(n.Data) == "true"
	case unstable.Integer:
		v.kind = kInt
		i, err := strconv.ParseInt(string(n.Data), 0, 64)
		if err != nil {
			b.problem(pos, path, "integer %s out of range", n.Data)
		}
		v.i = i
	case unstable.Float:
		v.kind = kFloat
		f, err := strconv.ParseFloat(strings.ReplaceAll(string(n.Data), "_", ""), 64)
		if err != nil {
			b.problem(pos, path, "number %s out of range", n.Data)
		}
		v.f = f
	case unstable.Array:
		v.kind = kArray
		it := n.Children()
		first := true
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			item := b.value(c, pos, path)
			if first && c.Raw.Length > 0 {
				// go-toml keeps no range for arrays: find the '[' before
				// the first item, or else use the item's position.
				first = false
				v.pos = item.pos
				o := int(c.Raw.Offset) - 1
				for o >= 0 && (b.data[o] == ' ' || b.data[o] == '\t' || b.data[o] == '\n' || b.data[o] == '\r') {
					o--
				}
				if o >= 0 && b.data[o] == '[' {
					v.pos = b.offsetPos(o)
				}
			}
			v.items = append(v.items, item)
		}
	case unstable.InlineTable:
		v.kind = kTable
		v.tab = newTable()
		v.tab.explicit = true
		it := n.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				b.keyval(v.tab, path, c)
			}
		}
		v.tab.sealed = true
	default: // dates and times: no Velos key takes one
		v.kind, v.str = kDate, string(n.Data)
	}
	return v
}

// joinKey renders a key path the way TOML would, quoting parts that are not
// bare keys: process."my app".env.
func joinKey(path []string) string {
	var sb strings.Builder
	for i, p := range path {
		if i > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(quoteKey(p))
	}
	return sb.String()
}

func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for _, c := range k {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return tomlString(k) // TOML's escapes, not Go's (\v, \x00 are not TOML)
		}
	}
	return k
}
