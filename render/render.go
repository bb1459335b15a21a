// Package render turns a tool's output struct into what a reader sees: an
// aligned table for people, the full struct as JSON for scripts, and a
// token-minimal JSON for models. It is driven by struct tags, so a new tool
// renders without new renderer code:
//
//	col:"HEADER"   the field is a column when its struct is a row of a table;
//	               col:"HEADER,optional" only when some row has a value for it
//	ai:"k"         the key in --ai output (default: the json name); ai:"-" leaves it out;
//	               ai:"k,keep" keeps the value even when zero (an id of 0 is an id)
//	fmt:"bytes"    int bytes → 45M;  fmt:"ms": int milliseconds → 2d, 3h, 5m, 12s;
//	fmt:"pct"      float percent → 12%
//	fmt:"argv"     a []string command line, shown as a shell line to people
//	color:"status" colour the value on a terminal by what it says (online green, errored red …)
//	human:"-"      leave the field out of the human view
//	human:"blocks" show a list of structs as key: value blocks (details), not a table
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Mode is an output format.
type Mode int

// The output formats.
const (
	Human Mode = iota
	JSON
	AI
)

// Options say where human output goes.
type Options struct {
	TTY   bool // aligned table with colour; otherwise tab-separated rows, no header
	Color bool // only meaningful with TTY; false under NO_COLOR
	// Now is the clock relative times count from (zero: the time of the
	// call); golden tests fix it.
	Now time.Time
}

func (o Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// JSONWriter is an output whose --json form is not one document but, say,
// one JSON value per line (JSON Lines) for a list too long to be one, and
// that writes it itself.
type JSONWriter interface {
	WriteJSON(w io.Writer) error
}

// Write renders v in mode m.
func Write(w io.Writer, m Mode, v any, o Options) error {
	switch m {
	case JSON:
		if j, ok := v.(JSONWriter); ok {
			return j.WriteJSON(w)
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("render json: %w", err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case AI:
		s, err := AIString(v)
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, s+"\n")
		return err
	default:
		if h, ok := v.(HumanWriter); ok {
			return h.WriteHuman(w, o)
		}
		return writeHuman(w, reflect.ValueOf(v), o)
	}
}

// HumanWriter is an output that is not a table or a record — log lines,
// say — and writes its own human view.
type HumanWriter interface {
	WriteHuman(w io.Writer, o Options) error
}

// AIValuer is an output whose --ai form is not its JSON shape: AIValue
// returns the value rendered in its place, with the usual tags and rules.
type AIValuer interface {
	AIValue() any
}

// AIString is the --ai rendering: compact JSON with short keys, humanised
// units, zero values left out, and lists of rows as {"cols":…,"rows":…} with
// the columns every row shares hoisted into "all".
func AIString(v any) (string, error) {
	if a, ok := v.(AIValuer); ok {
		v = a.AIValue()
	}
	x := aiValue(reflect.ValueOf(v), "")
	if x == nil {
		x = map[string]any{}
	}
	b, err := marshalCompact(x)
	if err != nil {
		return "", fmt.Errorf("render ai: %w", err)
	}
	return string(b), nil
}

func marshalCompact(x any) ([]byte, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(sb.String(), "\n")), nil
}

// field is one exported struct field with its rendering tags.
type field struct {
	index []int
	name  string // json name
	ai    string
	col   string
	// optional: a column shown only when some row has a value for it
	// (col:"REQ/S,optional"), such as figures only a cluster has.
	optional bool
	format   string
	color    string
	human    bool
	keep     bool // emit in --ai even when zero
	blocks   bool // a list shown as key: value blocks, not a table
}

func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if sf.Anonymous && name == "" && indirect(sf.Type).Kind() == reflect.Struct {
			for _, f := range fieldsOf(indirect(sf.Type)) {
				f.index = append([]int{i}, f.index...)
				out = append(out, f)
			}
			continue
		}
		if name == "" {
			name = sf.Name
		}
		col, colOpt, _ := strings.Cut(sf.Tag.Get("col"), ",")
		f := field{index: []int{i}, name: name, ai: name, col: col, optional: colOpt == "optional",
			format: sf.Tag.Get("fmt"), color: sf.Tag.Get("color"), human: sf.Tag.Get("human") != "-", blocks: sf.Tag.Get("human") == "blocks"}
		if a, ok := sf.Tag.Lookup("ai"); ok {
			key, opt, _ := strings.Cut(a, ",")
			if key != "" {
				f.ai = key
			}
			f.keep = opt == "keep"
		}
		out = append(out, f)
	}
	return out
}

func indirect(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func deref(v reflect.Value) reflect.Value {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(time.Duration(0))
)

// isRowSlice reports whether v is a slice of structs: a table.
func isRowSlice(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && indirect(t.Elem()).Kind() == reflect.Struct && indirect(t.Elem()) != timeType
}

// scalar formats a leaf value by its fmt tag, or reports ok=false for
// composite values.
func scalar(v reflect.Value, format string, human bool) (any, bool) {
	v = deref(v)
	if !v.IsValid() {
		return nil, true
	}
	if v.Type() == timeType {
		t := v.Interface().(time.Time)
		if t.IsZero() {
			return nil, true
		}
		return t.UTC().Format(time.RFC3339), true
	}
	if v.Type() == durationType { // --json keeps nanoseconds; people and models read 5s
		return Duration(time.Duration(v.Int())), true
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := v.Int()
		switch format {
		case "bytes":
			if !human {
				return BytesRound(n), true
			}
			return Bytes(n), true
		case "ms":
			return Duration(time.Duration(n) * time.Millisecond), true
		}
		return n, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if format == "bytes" && !human {
			return BytesRound(int64(v.Uint())), true
		}
		if format == "bytes" {
			return Bytes(int64(v.Uint())), true
		}
		return v.Uint(), true
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if format == "pct" {
			return Percent(f), true
		}
		return math.Round(f*100) / 100, true
	case reflect.String:
		return v.String(), true
	case reflect.Bool:
		return v.Bool(), true
	}
	return nil, false
}

// isZero reports a value --ai leaves out. A humanised zero ("0s", "0B",
// "0%") counts only for a field with a fmt tag: "0" in a user's string is data.
func isZero(x any, format string) bool {
	switch y := x.(type) {
	case nil:
		return true
	case string:
		return y == "" || (format != "" && (y == "0" || y == "0%" || y == "0s" || y == "0B"))
	case int64:
		return y == 0
	case uint64:
		return y == 0
	case float64:
		return y == 0
	case bool:
		return !y
	case map[string]any:
		return len(y) == 0
	case []any:
		return len(y) == 0
	}
	return false
}

// aiValue converts v for --ai output; nil means "leave out".
func aiValue(v reflect.Value, format string) any {
	if s, ok := scalar(v, format, false); ok {
		if isZero(s, format) {
			return nil
		}
		return s
	}
	v = deref(v)
	switch v.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		for _, f := range fieldsOf(v.Type()) {
			if f.ai == "-" {
				continue
			}
			if x := aiField(v.FieldByIndex(f.index), f); x != nil {
				m[f.ai] = x
			}
		}
		if len(m) == 0 {
			return nil
		}
		return m
	case reflect.Map:
		if v.Len() == 0 {
			return nil
		}
		m := map[string]any{}
		iter := v.MapRange()
		for iter.Next() {
			if x := aiElem(iter.Value(), ""); x != nil {
				m[fmt.Sprint(iter.Key().Interface())] = x
			}
		}
		return m
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return nil
		}
		if isRowSlice(v.Type()) && v.Len() > 1 {
			return aiTable(v)
		}
		var out []any
		for i := 0; i < v.Len(); i++ {
			x := aiElem(v.Index(i), format)
			if x == nil {
				x = map[string]any{}
			}
			out = append(out, x)
		}
		return out
	}
	return nil
}

// aiElem converts a list item or map value: a scalar stays as it is, zero or
// not (an argument "0" or an env value "" is data, not a default).
func aiElem(v reflect.Value, format string) any {
	if x, ok := scalar(v, format, false); ok && x != nil {
		return x
	}
	return aiValue(v, format)
}

// aiField is aiValue that honours the keep option.
func aiField(v reflect.Value, f field) any {
	if f.keep {
		if x, ok := scalar(v, f.format, false); ok && x != nil {
			return x
		}
	}
	return aiValue(v, f.format)
}

// aiTable writes rows once, without repeating keys; a column that is the same
// in every row is said once in "all", and a column that is empty everywhere
// is dropped. When a few rows differ from the rest — one crash-looping
// process among healthy ones — they are taken out of the table into
// "other", each an object with only its own non-zero values, so that the
// columns the others share can still be said once; whichever form is
// shorter is kept.
func aiTable(v reflect.Value) any {
	t := indirect(v.Type().Elem())
	fs := fieldsOf(t)
	cells := make([][]any, v.Len())
	for i := range cells {
		row := deref(v.Index(i))
		cells[i] = make([]any, len(fs))
		if !row.IsValid() {
			continue
		}
		for j, f := range fs {
			if f.ai != "-" {
				cells[i][j] = aiField(row.FieldByIndex(f.index), f)
			}
		}
	}
	all := make([]int, len(cells))
	for i := range all {
		all[i] = i
	}
	best := tableOf(t, fs, cells, all)
	bestSize := size(best)
	for _, odd := range oddRows(fs, cells) {
		var rest []int
		var other []any
		for i := range cells {
			if odd[i] {
				x := aiValue(v.Index(i), "")
				if x == nil {
					x = map[string]any{}
				}
				other = append(other, x)
			} else {
				rest = append(rest, i)
			}
		}
		split := tableOf(t, fs, cells, rest)
		split["other"] = other
		if n := size(split); n < bestSize {
			best, bestSize = split, n
		}
	}
	return best
}

// oddRows lists the sets of rows worth trying to take out of the table: for
// each column whose most common value all but a few rows share, the rows
// that differ, and all of those together. A set that would leave fewer than
// two rows in the table or take out more than a quarter of them is not
// tried.
func oddRows(fs []field, cells [][]any) []map[int]bool {
	n := len(cells)
	limit := n / 4
	if limit < 1 || n-limit < 2 {
		return nil
	}
	var sets []map[int]bool
	seen := map[string]bool{}
	union := map[int]bool{}
	try := func(set map[int]bool) {
		if len(set) == 0 || len(set) > limit {
			return
		}
		key := fmt.Sprint(sortedSet(set))
		if !seen[key] {
			seen[key] = true
			sets = append(sets, set)
		}
	}
	for j, f := range fs {
		if f.ai == "-" {
			continue
		}
		count := map[string]int{}
		keys := make([]string, n)
		for i := range cells {
			b, _ := json.Marshal(cells[i][j])
			keys[i] = string(b)
			count[keys[i]]++
		}
		mode, most := "", 0
		for i := range cells { // first row's value wins a tie: stable output
			if c := count[keys[i]]; c > most {
				mode, most = keys[i], c
			}
		}
		if d := n - most; d == 0 || d > limit {
			continue
		}
		odd := map[int]bool{}
		for i := range cells {
			if keys[i] != mode {
				odd[i], union[i] = true, true
			}
		}
		try(odd)
	}
	try(union)
	return sets
}

func sortedSet(set map[int]bool) []int {
	out := make([]int, 0, len(set))
	for i := range set {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

// size is the length of x as compact JSON: what decides between two forms.
func size(x any) int {
	b, _ := marshalCompact(x)
	return len(b)
}

// tableOf lays out the rows rows of cells as {"cols","rows","all"}.
func tableOf(t reflect.Type, fs []field, cells [][]any, rows []int) map[string]any {
	all := map[string]any{}
	var cols []string
	var keep []int
	for j, f := range fs {
		if f.ai == "-" {
			continue
		}
		same, empty := true, true
		first, _ := json.Marshal(cells[rows[0]][j])
		for _, i := range rows {
			if cells[i][j] != nil {
				empty = false
			}
			b, _ := json.Marshal(cells[i][j])
			if string(b) != string(first) {
				same = false
			}
		}
		switch {
		case empty:
		case same:
			all[f.ai] = cells[rows[0]][j]
		default:
			cols = append(cols, f.ai)
			keep = append(keep, j)
		}
	}
	out := make([][]any, len(rows))
	for k, i := range rows {
		out[k] = make([]any, len(keep))
		for c, j := range keep {
			out[k][c] = cells[i][j]
		}
	}
	table := map[string]any{}
	if lines, ok := rowStrings(out); ok {
		// Every cell is one word: a row is one string, which costs a model
		// about a quarter fewer tokens than an array of cells.
		table["cols"], table["rows"] = strings.Join(cols, " "), lines
	} else {
		for _, row := range out {
			for c, j := range keep {
				if row[c] == nil { // a row lacks a value another row has: the empty value of its kind
					row[c] = emptyOf(t.FieldByIndex(fs[j].index).Type, fs[j].format)
				}
			}
		}
		table["cols"], table["rows"] = cols, out
	}
	if len(all) > 0 {
		table["all"] = all
	}
	return table
}

// rowStrings joins each row's cells with spaces when every cell is a number,
// a bool or a string without white space, so the columns can be read back
// by splitting on spaces; ok is false otherwise. A cell without a value (a
// zero, which --ai leaves out: no pid or memory for a process that is not
// running) and an empty string are "-".
func rowStrings(rows [][]any) ([]string, bool) {
	out := make([]string, len(rows))
	var b strings.Builder
	for i, row := range rows {
		b.Reset()
		for j, c := range row {
			if j > 0 {
				b.WriteByte(' ')
			}
			switch x := c.(type) {
			case nil:
				b.WriteByte('-')
			case string:
				if x == "-" || strings.ContainsFunc(x, unicode.IsSpace) || strings.ContainsAny(x, "\"\\") {
					return nil, false
				}
				if x == "" {
					x = "-"
				}
				b.WriteString(x)
			case int64, uint64, float64, bool, int:
				fmt.Fprint(&b, x)
			default:
				return nil, false
			}
		}
		out[i] = b.String()
	}
	return out, true
}

// emptyOf is the shortest JSON that says "none" for a field of type t in a
// row of cells: "-" for a number (a process that is not running has no pid
// or memory, not a zero one), "" for a string.
func emptyOf(t reflect.Type, format string) any {
	t = indirect(t)
	switch {
	case format != "":
		return "-"
	case t == timeType || t.Kind() == reflect.String:
		return ""
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return []any{}
	case t.Kind() == reflect.Map || t.Kind() == reflect.Struct:
		return map[string]any{}
	case t.Kind() == reflect.Bool:
		return false
	}
	return "-"
}

// Bytes is a size for people: 512B, 1.5K, 45M, 2.1G (1024-based).
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + "B"
	}
	f := float64(n)
	for _, u := range []string{"K", "M", "G", "T"} {
		f /= unit
		if f < unit || u == "T" {
			if f < 10 {
				return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) + u
			}
			return strconv.FormatInt(int64(math.Round(f)), 10) + u
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// BytesRound is [Bytes] for --ai: below a gigabyte in whole units (1.6M →
// 2M), since a model reading a process list does not need the decimal and it
// costs tokens; from 1G on as Bytes (1.5G stays 1.5G).
func BytesRound(n int64) string {
	if n >= 1<<30 || n < 1024 {
		return Bytes(n)
	}
	f, u := float64(n)/1024, "K"
	if math.Round(f) >= 1024 {
		f, u = f/1024, "M"
	}
	if math.Round(f) >= 1024 {
		return "1G"
	}
	return strconv.FormatInt(int64(math.Round(f)), 10) + u
}

// Duration is a length of time for people, in its largest whole unit: 45s, 3m, 2h, 5d.
func Duration(d time.Duration) string {
	switch {
	case d < time.Second: // a process's first second is not worth the tokens
		return "0s"
	case d < time.Minute:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d < time.Hour:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d < 48*time.Hour:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
}

// Percent is a share for people: 0%, 0.5%, 12%, 130%.
func Percent(f float64) string {
	if f < 10 && f != 0 {
		return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) + "%"
	}
	return strconv.FormatInt(int64(math.Round(f)), 10) + "%"
}

// sortedKeys returns a map's keys in order, for stable human output.
func sortedKeys(v reflect.Value) []reflect.Value {
	keys := v.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i].Interface()) < fmt.Sprint(keys[j].Interface()) })
	return keys
}
