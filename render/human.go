package render

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
)

var statusColors = map[string]string{
	"online": "\x1b[32m", "stopped": "\x1b[90m", "stopping": "\x1b[33m",
	"waiting": "\x1b[33m", "errored": "\x1b[31m",
}

func writeHuman(w io.Writer, v reflect.Value, o Options) error {
	v = deref(v)
	if !v.IsValid() {
		return nil
	}
	if v.Kind() != reflect.Struct {
		s, _ := humanText(v, "")
		_, err := fmt.Fprintln(w, s)
		return err
	}
	var kv [][2]string
	flushKV := func() error {
		err := writeKV(w, kv, o)
		kv = kv[:0]
		return err
	}
	fields := fieldsOf(v.Type())
	shown := 0
	for _, f := range fields {
		if f.human {
			shown++
		}
	}
	for _, f := range fields {
		if !f.human || !applies(v, f.name) {
			continue
		}
		fv := v.FieldByIndex(f.index)
		switch {
		case isRowSlice(fv.Type()):
			if fv.Len() == 0 && shown > 1 {
				continue
			}
			if err := flushKV(); err != nil {
				return err
			}
			if shown > 1 { // among other fields, a table says what it is
				if _, err := fmt.Fprintf(w, "%s:\n", f.label()); err != nil {
					return err
				}
			}
			if err := writeRows(w, fv, o, f.blocks); err != nil {
				return err
			}
		case deref(fv).Kind() == reflect.Struct && deref(fv).Type() != timeType:
			kv = appendKV(kv, f.label()+".", deref(fv), o)
		default:
			if s, ok := fieldText(fv, f, o); ok && s != "" {
				kv = append(kv, [2]string{f.label(), s})
			}
		}
	}
	return flushKV()
}

// fieldText is humanText that honours the keep option (an id of 0 is
// shown) and writes a time for a person: local, with how long ago (on a
// terminal; piped, RFC 3339 as in --json).
func fieldText(v reflect.Value, f field, o Options) (string, bool) {
	if f.keep {
		if x, ok := scalar(v, f.format, true); ok && x != nil {
			return fmt.Sprint(x), true
		}
	}
	if t, ok := timeOf(v); ok && o.TTY {
		if t.IsZero() {
			return "", true
		}
		return t.Local().Format("2006-01-02 15:04:05") + " (" + Relative(t, o.now()) + ")", true
	}
	return humanText(v, f.format)
}

// appendKV flattens a struct into dotted key/value pairs, skipping zero
// values and those that do not apply (see [Applier]).
func appendKV(kv [][2]string, prefix string, v reflect.Value, o Options) [][2]string {
	for _, f := range fieldsOf(v.Type()) {
		if !f.human || !applies(v, f.name) {
			continue
		}
		fv := v.FieldByIndex(f.index)
		d := deref(fv)
		if d.IsValid() && d.Kind() == reflect.Struct && d.Type() != timeType {
			kv = appendKV(kv, prefix+f.label()+".", d, o)
			continue
		}
		if s, ok := fieldText(fv, f, o); ok && s != "" {
			kv = append(kv, [2]string{prefix + f.label(), s})
		}
	}
	return kv
}

// Applier is a row or record whose fields do not all apply in every state:
// a stopped process has no pid, memory or uptime. The human view leaves out
// (or blanks, in a table) the fields for which Applies is false; --json
// keeps its stable shape and --ai leaves zeros out anyway.
type Applier interface {
	Applies(field string) bool // field is the json name
}

func applies(v reflect.Value, name string) bool {
	if !v.IsValid() || !v.CanInterface() {
		return true
	}
	if a, ok := v.Interface().(Applier); ok {
		return a.Applies(name)
	}
	return true
}

func timeOf(v reflect.Value) (time.Time, bool) {
	v = deref(v)
	if v.IsValid() && v.Type() == timeType {
		return v.Interface().(time.Time), true
	}
	return time.Time{}, false
}

// Relative says how far t is from now for a person: "5m ago", "in 2h",
// "just now".
func Relative(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d > -time.Second && d < time.Second:
		return "just now"
	case d > 0:
		return Duration(d) + " ago"
	}
	return "in " + Duration(-d)
}

// label is how a field is named to people: its column's name when it has
// one in words (uptime, not uptime_ms), else its json name.
func (f field) label() string {
	if f.col != "" && strings.IndexFunc(f.col, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r == ' ') }) < 0 {
		return strings.ReplaceAll(strings.ToLower(f.col), " ", "_")
	}
	return f.name
}

// humanText renders a value on one line; ok=false for a value too nested for that.
func humanText(v reflect.Value, format string) (string, bool) {
	if x, ok := scalar(v, format, true); ok {
		if isZero(x, format) { // unset, false or empty: not worth a line
			return "", true
		}
		return fmt.Sprint(x), true
	}
	v = deref(v)
	if format == "argv" && v.Kind() == reflect.Slice {
		return argv(v), true
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		var parts []string
		for i := 0; i < v.Len(); i++ {
			s, ok := humanText(v.Index(i), format)
			if !ok {
				s = compactJSON(v.Index(i))
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ", "), true
	case reflect.Map:
		var parts []string
		for _, k := range sortedKeys(v) {
			s, _ := humanText(v.MapIndex(k), "")
			parts = append(parts, fmt.Sprintf("%v=%s", k.Interface(), s))
		}
		return strings.Join(parts, " "), true
	case reflect.Struct:
		return compactJSON(v), true
	}
	return "", false
}

// argv writes a command line as a shell would read it back.
func argv(v reflect.Value) string {
	parts := make([]string, v.Len())
	for i := range parts {
		s := fmt.Sprint(v.Index(i).Interface())
		if s == "" || strings.ContainsAny(s, " \t\n'\"\\$`|&;<>()*?[]{}~#") {
			s = "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
		parts[i] = s
	}
	return strings.Join(parts, " ")
}

// cellText is humanText for a table cell, where a zero number still shows
// (a column with holes is hard to read) and a time on a terminal is how long
// ago it was.
func cellText(v reflect.Value, format string, o Options) (string, bool) {
	if t, ok := timeOf(v); ok && o.TTY && !t.IsZero() {
		return Relative(t, o.now()), true
	}
	if x, ok := scalar(v, format, true); ok {
		if x == nil {
			return "", true
		}
		return fmt.Sprint(x), true
	}
	return humanText(v, format)
}

func compactJSON(v reflect.Value) string {
	b, err := marshalCompact(aiValue(v, ""))
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	return string(b)
}

func writeKV(w io.Writer, kv [][2]string, o Options) error {
	if len(kv) == 0 {
		return nil
	}
	width := 0
	for _, p := range kv {
		width = max(width, utf8.RuneCountInString(p[0]))
	}
	for _, p := range kv {
		var err error
		if o.TTY {
			_, err = fmt.Fprintf(w, "%-*s  %s\n", width+1, p[0]+":", colorize(p[1], "status", o))
		} else {
			_, err = fmt.Fprintf(w, "%s\t%s\n", p[0], p[1])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func colorize(s, kind string, o Options) string {
	if !o.TTY || !o.Color || kind != "status" {
		return s
	}
	if c, ok := statusColors[s]; ok {
		return c + s + ansiReset
	}
	return s
}

// writeRows prints a list of structs: a table, or with the field tag
// human:"blocks" (a detail type such as describe's) one block of key: value
// lines per element, blank lines between.
func writeRows(w io.Writer, v reflect.Value, o Options, blocks bool) error {
	if !blocks {
		return writeTable(w, v, o)
	}
	for i := 0; i < v.Len(); i++ {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := writeHuman(w, v.Index(i), o); err != nil {
			return err
		}
	}
	return nil
}

// writeTable prints rows: aligned with a header on a terminal, tab-separated
// without one when piped (like gh), so `velos list | cut -f2` works.
// dropEmptyOptional removes the optional columns no row has a value in.
func dropEmptyOptional(cols []field, rows [][]string) ([]field, [][]string) {
	keep := make([]bool, len(cols))
	for j, c := range cols {
		keep[j] = !c.optional
		for _, r := range rows {
			keep[j] = keep[j] || r[j] != ""
		}
	}
	var kc []field
	for j, c := range cols {
		if keep[j] {
			kc = append(kc, c)
		}
	}
	if len(kc) == len(cols) {
		return cols, rows
	}
	kr := make([][]string, len(rows))
	for i, r := range rows {
		for j, cell := range r {
			if keep[j] {
				kr[i] = append(kr[i], cell)
			}
		}
	}
	return kc, kr
}

func writeTable(w io.Writer, v reflect.Value, o Options) error {
	t := indirect(v.Type().Elem())
	all := fieldsOf(t)
	var cols []field
	for _, f := range all {
		if f.col != "" {
			cols = append(cols, f)
		}
	}
	if len(cols) == 0 { // no declared columns: every one-line field
		for _, f := range all {
			if f.human && deref(reflect.New(t).Elem().FieldByIndex(f.index)).Kind() != reflect.Struct {
				f.col = strings.ToUpper(f.name)
				cols = append(cols, f)
			}
		}
	}
	rows := make([][]string, v.Len())
	for i := range rows {
		row := deref(v.Index(i))
		rows[i] = make([]string, len(cols))
		for j, c := range cols {
			if row.IsValid() {
				if !applies(row, c.name) || c.optional && row.FieldByIndex(c.index).IsZero() {
					continue // blank: it does not apply to this row
				}
				s, ok := cellText(row.FieldByIndex(c.index), c.format, o)
				if !ok {
					s = compactJSON(row.FieldByIndex(c.index))
				}
				rows[i][j] = s
			}
		}
	}
	cols, rows = dropEmptyOptional(cols, rows)
	if !o.TTY {
		for _, r := range rows {
			if _, err := fmt.Fprintln(w, strings.Join(r, "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	widths := make([]int, len(cols))
	for j, c := range cols {
		widths[j] = utf8.RuneCountInString(c.col)
		for _, r := range rows {
			widths[j] = max(widths[j], utf8.RuneCountInString(r[j]))
		}
	}
	var sb strings.Builder
	line := func(cells []string, header bool) {
		for j, s := range cells {
			pad := widths[j] - utf8.RuneCountInString(s)
			if header && o.Color {
				s = ansiBold + s + ansiReset
			} else if !header {
				s = colorize(s, cols[j].color, o)
			}
			sb.WriteString(s)
			if j < len(cells)-1 {
				sb.WriteString(strings.Repeat(" ", pad+2))
			}
		}
		sb.WriteByte('\n')
	}
	hdr := make([]string, len(cols))
	for j, c := range cols {
		hdr[j] = c.col
	}
	line(hdr, true)
	for _, r := range rows {
		line(r, false)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}
