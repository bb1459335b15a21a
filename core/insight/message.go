package insight

import "strings"

// messageOf returns the message part of a line, which is what dedupe and
// pattern mining work on: for a JSON line the msg/message field (plus the
// error field after ": "), for a logfmt line the msg= value followed by the
// other pairs, otherwise the text after a leading header of timestamps, a
// level word and a pid ("2024-01-02 10:05:03,120 ERROR [12] msg" → "msg").
// Stripping the header keeps a time stamp or a level from splitting rows.
func messageOf(text string) string {
	_, msg := levelAndMessage(text, false)
	return msg
}

// levelAndMessage returns the stated level (when withLevel) and the
// message of a line, parsing a JSON line only once.
func levelAndMessage(text string, withLevel bool) (Level, string) {
	s := trimLeftSpace(text)
	if len(s) > 0 && s[0] == '{' {
		if f := parseJSONLine(s); f.ok {
			return f.level, jsonMessage(f, s)
		}
	}
	lvl := LevelUnknown
	if withLevel {
		lvl = classifyPlain(text)
	}
	return lvl, plainMessage(s)
}

// jsonMessage is msg, msg + ": " + err, err, or the whole line.
func jsonMessage(f jsonFields, s string) string {
	switch {
	case f.msg != "" && f.err != "":
		return f.msg + ": " + f.err
	case f.msg != "":
		return f.msg
	case f.err != "":
		return f.err
	}
	return s
}

func plainMessage(s string) string {
	rest := s
	for n := 0; n < 8 && rest != ""; n++ {
		end := 0
		for end < len(rest) && !isSpace(rest[end]) {
			end++
		}
		tok := rest[:end]
		if !isHeaderToken(tok) {
			break
		}
		rest = trimLeftSpace(rest[end:])
		// Separators frameworks put between header and message.
		for len(rest) > 1 && (rest[0] == '-' || rest[0] == '|' || rest[0] == ':') && isSpace(rest[1]) {
			rest = trimLeftSpace(rest[1:])
		}
	}
	if rest == "" {
		return s
	}
	if strings.HasPrefix(rest, "msg=") || strings.HasPrefix(rest, "message=") {
		return logfmtMessage(rest)
	}
	return rest
}

// isHeaderToken: a timestamp piece ("2024-01-02", "10:05:03,120",
// "[2024-01-02T10:05:03Z]", "1700000000"), a level word ("ERROR",
// "[warn]", "level=info"), "time=…"/"ts=…", or a bracketed number "[12]".
func isHeaderToken(tok string) bool {
	if tok == "" {
		return false
	}
	if strings.HasPrefix(tok, "time=") || strings.HasPrefix(tok, "ts=") || strings.HasPrefix(tok, "level=") || strings.HasPrefix(tok, "lvl=") {
		return true
	}
	t := tok
	for t != "" && isHeaderPunct(t[0]) {
		t = t[1:]
	}
	for t != "" && isHeaderPunct(t[len(t)-1]) {
		t = t[:len(t)-1]
	}
	if t == "" {
		return false
	}
	if isDigit(t[0]) {
		return isStamp(t) || tok[0] == '[' && strings.Trim(t, "0123456789") == ""
	}
	if l, ok := ParseLevel(t); ok && l != LevelUnknown && (isUpperWord(t) || tok[0] == '[' || tok[0] == '<') {
		return true
	}
	return false
}

// isStamp reports a date ("2024-01-02", "2024/01/02"), a time of day
// ("10:05:03", "10:05:03,120", "10:05:03.5Z"), the two joined
// ("2024-01-02T10:05:03+02:00"), or a Unix time (10 digits or more). A
// count ("63543 exceptions"), an IP or a version is part of the message.
func isStamp(t string) bool {
	groups, sep, dots := 0, false, 0
	for k := 0; k < len(t); k++ {
		switch c := t[k]; {
		case isDigit(c):
			if k == 0 || !isDigit(t[k-1]) {
				groups++
			}
		case c == '-' || c == '/' || c == ':':
			sep = true
		case c == '.':
			dots++
		case c == ',' || c == 'T' || c == 'Z' || c == '+':
		default:
			return false
		}
	}
	if groups == 1 && !sep && dots == 0 {
		return len(t) >= 10 // seconds or milliseconds since 1970
	}
	// At most one dot: a fraction of a second, after a time.
	return groups >= 2 && sep && (dots == 0 || dots == 1 && strings.IndexByte(t, ':') >= 0)
}

func isHeaderPunct(c byte) bool {
	return c == '[' || c == ']' || c == '<' || c == '>' || c == '|' || c == ':' || c == ','
}

// logfmtMessage turns `msg="connection refused" addr=x` into
// `connection refused addr=x`.
func logfmtMessage(s string) string {
	eq := strings.IndexByte(s, '=')
	v := s[eq+1:]
	if v == "" {
		return s
	}
	if v[0] != '"' {
		end := strings.IndexAny(v, " \t")
		if end < 0 {
			return v
		}
		return v[:end] + v[end:]
	}
	for k := 1; k < len(v); k++ {
		if v[k] == '\\' {
			k++
			continue
		}
		if v[k] == '"' {
			msg := strings.ReplaceAll(v[1:k], `\"`, `"`)
			return msg + v[k+1:]
		}
	}
	return s
}
