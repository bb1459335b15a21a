package config

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
)

// Format renders processes as a config file that [Parse] reads back to the
// same values: one [process.NAME] table each, keys in the order of
// [Keys], env and its profiles as sub-tables. Only Name and Process of each
// entry are used. Unset keys are left out.
func Format(procs []Entry) []byte {
	var b bytes.Buffer
	for i, e := range procs {
		if i > 0 {
			b.WriteByte('\n')
		}
		head := joinKey([]string{"process", e.Name})
		fmt.Fprintf(&b, "[%s]\n", head)
		rv := reflect.ValueOf(e.Process)
		for _, f := range processFields {
			fv := rv.Field(f.index)
			if fv.IsZero() || f.typ == reflect.Map {
				continue
			}
			fmt.Fprintf(&b, "%s = %s\n", f.key, tomlValue(f, fv))
		}
		if len(e.Process.Env) > 0 {
			fmt.Fprintf(&b, "\n[%s.env]\n", head)
			writeEnv(&b, e.Process.Env)
		}
		for _, prof := range sortedKeys(e.Process.EnvProfiles) {
			fmt.Fprintf(&b, "\n[%s.env.%s]\n", head, quoteKey(prof))
			writeEnv(&b, e.Process.EnvProfiles[prof])
		}
	}
	return b.Bytes()
}

func writeEnv(b *bytes.Buffer, env map[string]string) {
	for _, k := range sortedKeys(env) {
		fmt.Fprintf(b, "%s = %s\n", quoteKey(k), tomlString(env[k]))
	}
}

func tomlValue(f field, v reflect.Value) string {
	switch f.typ {
	case reflect.String:
		s := v.String()
		if f.format == "instances" {
			if _, err := strconv.Atoi(s); err == nil {
				return s // instances = 4 reads better than "4"
			}
		}
		return tomlString(s)
	case reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Slice:
		var b bytes.Buffer
		b.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tomlString(v.Index(i).String()))
		}
		b.WriteByte(']')
		return b.String()
	}
	return `""`
}

// tomlString quotes s as a TOML basic string (Go's %q escapes such as \x00
// and \a are not TOML).
func tomlString(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
