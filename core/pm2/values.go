package pm2

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/config"
)

func cpus() int { return runtime.NumCPU() }

// normalize turns YAML's decoded values into JSON's (float64 numbers,
// string-keyed maps), so one converter reads both.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	}
	return v
}

// splitArgs splits a string the way PM2 splits a string given for a list
// (args, node_args, ignore_watch): on white space, keeping "quoted parts"
// and key="quoted values" together, quotes of a whole word removed.
var argRE = regexp.MustCompile(`[^\s"'=]+="[^"]*"|[^\s"'=]+='[^']*'|"([^"]*)"|'([^']*)'|\S+`)

func splitArgs(s string) []string {
	var out []string
	for _, w := range argRE.FindAllString(s, -1) {
		if len(w) >= 2 && (w[0] == '"' && w[len(w)-1] == '"' || w[0] == '\'' && w[len(w)-1] == '\'') {
			w = w[1 : len(w)-1]
		}
		if strings.TrimSpace(w) != "" {
			out = append(out, w)
		}
	}
	return out
}

// stringList reads a list of strings, or a string PM2 splits into one.
func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return splitArgs(x), nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := scalarString(e)
			if !ok {
				return nil, fmt.Errorf("want a list of strings, got %s in it", describe(e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of strings or a string, got %s", describe(v))
}

// scalarString is a string, number or boolean as text (an arg of 300 is "300").
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// envValue is an env value as PM2 passes it: numbers and booleans as their
// text, objects and lists as JSON, null as the empty string.
func envValue(v any) string {
	if s, ok := scalarString(v); ok {
		return s
	}
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// number reads a number, or a string PM2 would parse as one ("3000").
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// boolean reads true/false (or their text).
func boolean(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b, nil
		}
	}
	return false, fmt.Errorf("want true or false, got %s", describe(v))
}

// millis reads a PM2 time: a number of milliseconds (or its text), and for
// min_uptime also "10s", "5m", "1h"; it returns a Velos duration string.
func millis(v any, units bool) (string, error) {
	if f, ok := number(v); ok {
		if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return "", fmt.Errorf("%v is not a number of milliseconds ≥ 0", v)
		}
		return duration(time.Duration(f * float64(time.Millisecond))), nil
	}
	if s, ok := v.(string); ok && units && len(s) >= 2 {
		mult := map[byte]time.Duration{'h': time.Hour, 'm': time.Minute, 's': time.Second}[s[len(s)-1]]
		if f, err := strconv.ParseFloat(s[:len(s)-1], 64); err == nil && mult > 0 && f >= 0 {
			return duration(time.Duration(f * float64(mult))), nil
		}
	}
	if units {
		return "", fmt.Errorf("want milliseconds (a number) or a time like \"10s\", \"5m\", \"1h\", got %s", describe(v))
	}
	return "", fmt.Errorf("want milliseconds (a number), got %s", describe(v))
}

// duration writes d the short way people write it: 3s, 1500ms, 5m, 1h.
func duration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d%time.Millisecond == 0:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	return d.String()
}

// size reads max_memory_restart: bytes (a number) or "200M", "1G", "512K"
// (1024-based, as PM2 and Velos both count).
func size(v any) (string, error) {
	if f, ok := v.(float64); ok {
		if f <= 0 || f != math.Trunc(f) {
			return "", fmt.Errorf("%v is not a number of bytes > 0", f)
		}
		return config.FormatSize(int64(f)), nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a size like \"200M\" or a number of bytes, got %s", describe(v))
	}
	n, err := config.ParseSize(s)
	if err != nil {
		return "", err
	}
	if n <= 0 {
		return "", fmt.Errorf("%q is not a size > 0", s)
	}
	if _, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		return config.FormatSize(n), nil // bytes: say it in units
	}
	return strings.ToUpper(strings.TrimSpace(s)), nil
}

// snake turns PM2's camelCase aliases (maxMemoryRestart) into the schema's
// names (max_memory_restart).
func snake(k string) string {
	if strings.ToLower(k) == k || strings.HasPrefix(k, "env_") {
		return k
	}
	var b strings.Builder
	for i, r := range k {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r + ('a' - 'A'))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// processName makes a PM2 name (which may hold spaces, ':' or '@scope/') a
// Velos one: letters, digits, '-', '_' and '.', starting with a letter or
// digit, not a number and not "all".
func processName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		ok := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			if b.Len() > 0 && !dash {
				b.WriteByte('-')
				dash = true
			}
			continue
		}
		if (b.Len() == 0 && (r == '-' || r == '_' || r == '.')) || (r == '-' && dash) {
			continue
		}
		b.WriteRune(r)
		dash = r == '-'
	}
	out := strings.TrimRight(b.String(), "-_.")
	if out == "" {
		return "app"
	}
	if _, err := strconv.Atoi(out); err == nil || out == "all" {
		out = "app-" + out
	}
	return out
}
