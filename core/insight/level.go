package insight

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// Level is the severity of a log line. The zero value is [LevelUnknown].
// Levels are ordered: a higher value is more severe, so
// `l >= LevelError` selects errors and fatals.
type Level uint8

// Levels, from least to most severe.
const (
	LevelUnknown Level = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
	LevelFatal
)

var levelNames = [...]string{"UNKNOWN", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}

// String returns the upper-case name: UNKNOWN, DEBUG, INFO, WARN, ERROR, FATAL.
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", l)
}

// MarshalText encodes the level as its lower-case name, for JSON output.
func (l Level) MarshalText() ([]byte, error) {
	if int(l) >= len(levelNames) {
		return nil, fmt.Errorf("marshal level %d: out of range", l)
	}
	return []byte(strings.ToLower(levelNames[l])), nil
}

// UnmarshalText accepts any name [ParseLevel] accepts.
func (l *Level) UnmarshalText(b []byte) error {
	v, ok := ParseLevel(string(b))
	if !ok {
		return fmt.Errorf("unmarshal level %q: unknown level", b)
	}
	*l = v
	return nil
}

// ParseLevel maps a level name in any case, as frameworks print it, to a
// [Level]: trace/debug/fine…, info/notice, warn/warning, error/err/severe,
// fatal/panic/critical/crit/alert/emerg. It also accepts "unknown".
func ParseLevel(s string) (Level, bool) {
	if len(s) > 12 {
		return LevelUnknown, false
	}
	var buf [12]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(s)]) {
	case "trace", "debug", "dbg", "fine", "finer", "finest", "verbose", "trc", "dbug":
		return LevelDebug, true
	case "info", "information", "informational", "notice", "inf":
		return LevelInfo, true
	case "warn", "warning", "wrn":
		return LevelWarn, true
	case "error", "err", "severe", "eror", "erro":
		return LevelError, true
	case "fatal", "panic", "critical", "crit", "alert", "emerg", "emergency", "dpanic", "ftl":
		return LevelFatal, true
	case "unknown":
		return LevelUnknown, true
	}
	return LevelUnknown, false
}

// levelFromNumber maps pino/bunyan numeric levels (10 trace, 20 debug, 30
// info, 40 warn, 50 error, 60 fatal) and syslog severities are not
// guessed: only the pino/bunyan scale is used, since it is what JSON lines
// with a numeric level use in practice.
func levelFromNumber(n float64) Level {
	switch {
	case n >= 60:
		return LevelFatal
	case n >= 50:
		return LevelError
	case n >= 40:
		return LevelWarn
	case n >= 30:
		return LevelInfo
	case n >= 10:
		return LevelDebug
	}
	return LevelUnknown
}

// StreamErr is the stream name of standard error, as in [Line.Stream].
const StreamErr = "err"

// Classify returns the level of one line: [ClassifyText] first, and when
// the text carries no level, stderrLevel for lines from standard error
// (stream "err"), otherwise [LevelUnknown]. Velos uses [LevelWarn] as
// stderrLevel (see [DefaultStderrLevel]).
func Classify(stream, text string, stderrLevel Level) Level {
	if l := ClassifyText(text); l != LevelUnknown {
		return l
	}
	if stream == StreamErr {
		return stderrLevel
	}
	return LevelUnknown
}

// DefaultStderrLevel is the level given to a stderr line that carries no
// level of its own. Warn, not error: many programs (Go's log package,
// Python's logging) write all their output to stderr.
const DefaultStderrLevel = LevelWarn

// ClassifyText returns the level a line states, or [LevelUnknown]. The
// rules are listed in the package documentation.
func ClassifyText(text string) Level {
	s := trimLeftSpace(text)
	if len(s) > 0 && s[0] == '{' {
		if f := parseJSONLine(s); f.ok {
			return f.level
		}
	}
	return classifyPlain(text)
}

func trimLeftSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}

// jsonFields is what one pass over a JSON log line yields.
type jsonFields struct {
	ok     bool
	level  Level
	msg    string
	err    string
	caller string
}

// parseJSONLine reads the level, message, error and caller fields of a JSON
// log line in one pass over its top-level keys (gjson, no allocation for
// the document). Level keys: level, severity, lvl, levelname, log.level (as a
// dotted key or nested). String levels go through [ParseLevel]; numbers use
// the pino/bunyan scale.
func parseJSONLine(s string) jsonFields {
	var f jsonFields
	// A cheap shape check instead of gjson.Valid, which would be a second
	// full pass: ForEach stops safely on malformed input.
	e := len(s)
	for e > 0 && isSpace(s[e-1]) {
		e--
	}
	if e < 2 || s[0] != '{' || s[e-1] != '}' {
		return f
	}
	f.ok = true
	gjson.Parse(s).ForEach(func(k, v gjson.Result) bool {
		switch strings.ToLower(k.Str) {
		case "level", "severity", "lvl", "levelname", "log.level", "@l", "loglevel":
			f.level = jsonLevel(v)
		case "log":
			if v.IsObject() {
				f.level = max(f.level, jsonLevel(v.Get("level")))
			}
		case "msg", "message", "@m", "@mt":
			if f.msg == "" {
				f.msg = v.String()
			}
		case "err", "error", "exception", "stack", "error.message":
			if f.err == "" {
				if v.IsObject() {
					if m := v.Get("message"); m.Exists() {
						f.err = m.String()
					} else {
						f.err = v.Raw
					}
				} else {
					f.err = v.String()
				}
			}
		case "caller", "source", "file", "logger.caller":
			if f.caller == "" && v.Type == gjson.String {
				f.caller = v.Str
			}
		}
		return true
	})
	return f
}

func jsonLevel(v gjson.Result) Level {
	switch v.Type {
	case gjson.Number:
		return levelFromNumber(v.Num)
	case gjson.String:
		l, _ := ParseLevel(strings.TrimSpace(v.Str))
		return l
	}
	return LevelUnknown
}

// classifyPlain scans the head of a text line for a level word. The first
// (leftmost) level found wins, because frameworks print the level before the
// message.
func classifyPlain(text string) Level {
	s := text
	if len(s) > 256 {
		s = s[:256]
	}
	// glog/klog: "E0527 10:00:00.000000 …", Ruby Logger: "E, [2024-…".
	if len(s) >= 6 {
		if l := glogLevel(s[0]); l != LevelUnknown {
			if (isDigit(s[1]) && isDigit(s[2]) && isDigit(s[3]) && isDigit(s[4]) && s[5] == ' ') ||
				(s[1] == ',' && s[2] == ' ' && s[3] == '[') {
				return l
			}
		}
	}
	i := 0
	for i < len(s) {
		if !isAlpha(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isAlpha(s[j]) {
			j++
		}
		if l := wordLevel(s, i, j); l != LevelUnknown {
			return l
		}
		i = j
	}
	return accessLogLevel(text)
}

func glogLevel(c byte) Level {
	switch c {
	case 'I':
		return LevelInfo
	case 'W':
		return LevelWarn
	case 'E':
		return LevelError
	case 'F':
		return LevelFatal
	}
	return LevelUnknown
}

// wordLevel decides whether s[i:j], a run of letters, is a level word:
//   - an upper-case level name (ERROR, WARN, INFO, …) as a whole word;
//   - any-case level name when framed as a level field: "[error]",
//     "<warn>", "|info|", "level=error", "[core:error]", or at the very start
//     of the line followed by ':' ("error: …", "panic: …", "fatal error:");
//   - "Traceback", "Exception", or a CamelCase word ending in Error or
//     Exception ("TypeError", "java.lang.NullPointerException") → error.
func wordLevel(s string, i, j int) Level {
	w := s[i:j]
	if len(w) < 3 {
		return LevelUnknown
	}
	var before, after byte = ' ', ' '
	if i > 0 {
		before = s[i-1]
	}
	if j < len(s) {
		after = s[j]
	}
	// A word glued to '_' or a digit is an identifier (ERR_CONNECTION).
	if before == '_' || after == '_' || isDigit(before) || isDigit(after) {
		return LevelUnknown
	}
	if isUpperWord(w) {
		if l, ok := ParseLevel(w); ok && l != LevelUnknown {
			return l
		}
	}
	if l, ok := ParseLevel(w); ok && l != LevelUnknown {
		framed := (before == '[' && (after == ']' || after == ':')) ||
			(before == '<' && after == '>') ||
			(before == '|' && (after == '|' || after == ' ')) ||
			(before == ':' && after == ']') ||
			(before == '"' && after == '"' && i >= 2 && s[i-2] == ':') ||
			(before == '=' && isLevelKey(s[:i-1])) ||
			(i == 0 && (after == ':' || (after == ' ' && strings.HasPrefix(s[j:], " error:"))))
		if framed {
			return l
		}
	}
	if w == "Traceback" || w == "Exception" {
		return LevelError
	}
	if len(w) > 5 && w[0] >= 'A' && w[0] <= 'Z' && (strings.HasSuffix(w, "Error") || strings.HasSuffix(w, "Exception")) &&
		(after == ':' || after == ' ' || j == len(s)) {
		return LevelError
	}
	return LevelUnknown
}

func isUpperWord(w string) bool {
	for k := 0; k < len(w); k++ {
		if w[k] < 'A' || w[k] > 'Z' {
			return false
		}
	}
	return true
}

// isLevelKey reports whether prefix ends with a level key: level, lvl,
// severity, loglevel.
func isLevelKey(prefix string) bool {
	for _, k := range [...]string{"level", "lvl", "severity", "loglevel"} {
		if len(prefix) >= len(k) && strings.EqualFold(prefix[len(prefix)-len(k):], k) {
			p := len(prefix) - len(k)
			if p == 0 || !isAlpha(prefix[p-1]) {
				return true
			}
		}
	}
	return false
}

// accessLogLevel classifies web access log lines (nginx/apache combined
// format) by status code: 5xx is an error, 4xx a warning, others info. It
// looks for the `HTTP/x" NNN ` that closes the request field.
func accessLogLevel(s string) Level {
	k := strings.Index(s, "HTTP/")
	if k < 0 {
		return LevelUnknown
	}
	q := strings.IndexByte(s[k:], '"')
	if q < 0 {
		return LevelUnknown
	}
	r := s[k+q+1:]
	if len(r) < 4 || r[0] != ' ' || !isDigit(r[1]) || !isDigit(r[2]) || !isDigit(r[3]) {
		return LevelUnknown
	}
	switch r[1] {
	case '5':
		return LevelError
	case '4':
		return LevelWarn
	}
	return LevelInfo
}
