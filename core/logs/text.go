package logs

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a time bound as a user or agent writes it, relative to
// now: "2024-01-15", "2024-01-15 10:00", "2024-01-15 10:00:05" (in now's
// location), RFC 3339 with or without fractions ("2024-01-15T10:00:05Z"),
// and durations meaning "that long before now": "30s", "30m", "1h", "2d",
// "1w", and Go forms like "1h30m".
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("parse time: empty")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, now.Location()); err == nil {
			return t, nil
		}
	}
	// A clock time alone is today's, as journalctl reads it.
	for _, layout := range []string{"15:04:05.999999999", "15:04"} {
		if c, err := time.Parse(layout, s); err == nil {
			y, m, d := now.Date()
			return time.Date(y, m, d, c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), now.Location()), nil
		}
	}
	if d, ok := parseAgo(s); ok {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("parse time %q: want 2006-01-02 15:04[:05], 15:04[:05] (today), RFC 3339, or an age like 30m, 1h, 2d", s)
}

// parseAgo reads "2d", "1w" (which time.ParseDuration lacks) and Go
// durations; negative ages are rejected.
func parseAgo(s string) (time.Duration, bool) {
	if n := len(s); n > 1 && (s[n-1] == 'd' || s[n-1] == 'w') {
		// Plain decimals only: ParseFloat also takes "NaN", "Inf", "1e300"
		// and hex, which made "NaNd" a time 292 years back.
		num := s[:n-1]
		if strings.Trim(num, "0123456789.") != "" {
			return 0, false
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, false
		}
		unit := 24 * time.Hour
		if s[n-1] == 'w' {
			unit *= 7
		}
		if v*float64(unit) >= math.MaxInt64 {
			return 0, false
		}
		return time.Duration(v * float64(unit)), true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// StripANSI removes terminal escape sequences (colours, cursor moves,
// OSC titles and links) from s. Files keep them; agents pay for every
// byte and see nothing of a colour.
func StripANSI(s string) string {
	i := strings.IndexByte(s, 0x1b)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i+1:]
		s = s[escLen(s):]
		i = strings.IndexByte(s, 0x1b)
	}
	b.WriteString(s)
	return b.String()
}

// escLen returns the length of the escape sequence body after ESC.
func escLen(s string) int {
	if s == "" {
		return 0
	}
	switch s[0] {
	case '[': // CSI: parameters and intermediates, then a final byte 0x40-0x7e
		for j := 1; j < len(s); j++ {
			if s[j] >= 0x40 && s[j] <= 0x7e {
				return j + 1
			}
		}
		return len(s)
	case ']', 'P', '_', '^', 'X': // OSC, DCS, …: until BEL or ESC \
		for j := 1; j < len(s); j++ {
			if s[j] == 0x07 {
				return j + 1
			}
			if s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\' {
				return j + 2
			}
		}
		return len(s)
	case '(', ')', '*', '+', '#', '%': // charset selection: one more byte
		return min(2, len(s))
	}
	return 1 // two-byte sequences such as ESC M
}

// Levels returned by [DefaultClassify].
const (
	LevelError = "error"
	LevelWarn  = "warn"
	LevelInfo  = "info"
	LevelDebug = "debug"
)

var (
	errorWords = [][]byte{[]byte("ERROR"), []byte("FATAL"), []byte("PANIC"), []byte("CRITICAL"), []byte("Traceback"), []byte("Exception"), []byte("panic:"), []byte("error:"), []byte("Error:")}
	warnWords  = [][]byte{[]byte("WARN"), []byte("warning:"), []byte("Warning:")}
	infoWords  = [][]byte{[]byte("INFO")}
	debugWords = [][]byte{[]byte("DEBUG"), []byte("TRACE")}
)

// DefaultClassify is a first, simple level classifier: words that logging
// libraries print (ERROR, FATAL, panic:, Traceback, WARN, INFO, DEBUG…)
// decide; a line without one is "error" on stderr and "info" on stdout.
// A richer classifier plugs in through [Options.Classify].
func DefaultClassify(l Line) string {
	t := []byte(l.Text)
	has := func(words [][]byte) bool {
		for _, w := range words {
			if bytes.Contains(t, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has(errorWords):
		return LevelError
	case has(warnWords):
		return LevelWarn
	case has(debugWords):
		return LevelDebug
	case has(infoWords):
		return LevelInfo
	case l.Stream == Err:
		return LevelError
	}
	return LevelInfo
}
