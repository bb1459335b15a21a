package insight

// Wildcard is the placeholder that stands for a variable part in masked text
// and in templates.
const Wildcard = "<*>"

// isDigit, isSpace and friends are hand-written instead of using unicode
// because masking runs on every line and must stay allocation-free and fast.
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isSpace(c byte) bool {
	// Most bytes are above ' ': one comparison rejects them.
	return c <= ' ' && (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f')
}

func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// isSegSep reports the characters that split a token into segments; a
// segment that holds a digit is masked as a whole, so "10.0.0.1:8080" becomes
// "<*>:<*>" and "(uid=0)" becomes "(uid=<*>)".
func isSegSep(c byte) bool {
	switch c {
	case ':', ',', '(', ')', '[', ']', '{', '}', '"', '\'', '=', '@', '<', '>', '|', ';', '/', '#', '`':
		return true
	}
	return false
}

// isValueEnd ends the value of a key=value pair.
func isValueEnd(c byte) bool {
	switch c {
	case ',', ';', ')', ']', '}', '&', '"', '\'', '>':
		return true
	}
	return false
}

// appendMasked appends the masked form of text to dst: runs of whitespace
// become one space, leading and trailing whitespace is dropped and each
// whitespace-separated token is masked by [appendMaskedToken]. It returns the
// extended buffer and the number of tokens written.
func appendMasked(dst []byte, text string) ([]byte, int) {
	return appendMaskedMode(dst, text, false)
}

// appendMaskedMode is appendMasked; with words, the value of key=value is
// masked by the token rules instead of always ("user=root" stays, for the
// miner to decide from its counts).
func appendMaskedMode(dst []byte, text string, words bool) ([]byte, int) {
	n := 0
	i := 0
	// starts holds where recent tokens begin in dst, so a date word can be
	// folded into a following variable ("Fri Jun 17 07:07:00 2005" → <*>).
	var starts [8]int
	ns := 0
	for i < len(text) {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i >= len(text) {
			break
		}
		j := i
		for j < len(text) && !isSpace(text[j]) {
			j++
		}
		mark := len(dst)
		if n > 0 {
			dst = append(dst, ' ')
		}
		start := len(dst)
		dst = appendMaskedToken(dst, text[i:j], words)
		i = j
		cur := dst[start:]
		if ns > 0 {
			p := dst[starts[ns-1]:mark]
			curWild, prevWild := string(cur) == Wildcard, string(p) == Wildcard
			switch {
			case curWild && (prevWild || isDateWord(p)):
				// Adjacent variables are one variable, and date words next
				// to a number are part of it, so a timestamp is one <*>
				// whatever its layout.
				dst = dst[:mark]
				for ns > 0 && isDateWord(dst[starts[ns-1]:]) {
					dst = dst[:max(starts[ns-1]-1, 0)]
					ns--
					n--
				}
				if ns > 0 && string(dst[starts[ns-1]:]) == Wildcard {
					continue
				}
				if n > 0 {
					dst = append(dst, ' ')
				}
				start = len(dst)
				dst = append(dst, Wildcard...)
			case prevWild && isDateWord(cur):
				dst = dst[:mark]
				continue
			case (prevWild || len(p) > 3 && p[len(p)-1] == '>' && isVariableBytes(p)) && isUnit(cur):
				// "3.2 KB," and "512 B," are one quantity: keep only the
				// trailing punctuation.
				u := len(cur)
				for u > 0 && isTrailPunct(cur[u-1]) {
					u--
				}
				tail := len(cur) - u
				copy(dst[mark:], cur[u:])
				dst = dst[:mark+tail]
				continue
			}
		}
		if ns == len(starts) {
			copy(starts[:], starts[1:])
			ns--
		}
		starts[ns] = start
		ns++
		n++
	}
	return dst, n
}

// isVariableBytes is isVariableToken on bytes: a variable and no letter.
func isVariableBytes(b []byte) bool {
	wild := false
	for k := 0; k < len(b); k++ {
		if isAlpha(b[k]) {
			return false
		}
		if b[k] == '*' && k > 0 && b[k-1] == '<' && k+1 < len(b) && b[k+1] == '>' {
			wild = true
		}
	}
	return wild
}

// isUnit reports unit symbols that follow a number ("512 KB", "30 ms"),
// ignoring trailing punctuation.
func isUnit(b []byte) bool {
	for len(b) > 0 && isTrailPunct(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	switch string(b) {
	case "B", "KB", "MB", "GB", "TB", "PB", "K", "M", "G", "KiB", "MiB", "GiB", "TiB",
		"kB", "ns", "us", "µs", "ms", "s", "sec", "secs", "min", "mins", "h", "%":
		return true
	}
	return false
}

// isDateWord reports month and weekday names (Jan, January, Mon, …), which
// are variables when they sit next to a number, as in timestamps.
func isDateWord(b []byte) bool {
	if len(b) < 3 || len(b) > 9 || b[0] < 'A' || b[0] > 'Z' {
		return false
	}
	switch string(b) {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
		"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
		"January", "February", "March", "April", "June", "July", "August", "September",
		"October", "November", "December", "Monday", "Tuesday", "Wednesday", "Thursday",
		"Friday", "Saturday", "Sunday":
		return true
	}
	return false
}

// appendMaskedToken masks one whitespace-free token. The rules, cheapest
// first:
//   - a token with no digit, no '/', no '=' is a word and is kept;
//   - a path ("/a/b", "./a", "~/a") or URL ("scheme://…") is one variable;
//   - key=value: the key is kept, a non-empty value is one variable
//     (pairs separated by , ; & are handled one by one);
//   - otherwise the token is split at punctuation (see isSegSep) and every
//     segment that holds a digit (numbers, hex, IPs, UUIDs, durations,
//     timestamps, ids like blk_-42) becomes a variable. Adjacent variables
//     joined by ':' or '.' merge into one, so "10.0.0.1:8080" is one <*>.
func appendMaskedToken(dst []byte, tok string, words bool) []byte {
	hasDigit, hasSlash, hasEq := false, false, false
	for k := 0; k < len(tok); k++ {
		c := tok[k]
		if c > '9' { // letters and most punctuation: one comparison
			hasEq = hasEq || c == '='
			hasSlash = hasSlash || c == '\\'
			continue
		}
		hasDigit = hasDigit || c >= '0'
		hasSlash = hasSlash || c == '/'
	}
	if !hasDigit && !hasSlash && !hasEq {
		return append(dst, tok...)
	}
	if hasSlash && isPathOrURL(tok) {
		// Keep leading and trailing punctuation that is not part of the path
		// so "(/tmp/x)" and "/tmp/x," mask the same as "/tmp/x".
		lead, trail := 0, len(tok)
		for lead < len(tok) && (tok[lead] == '(' || tok[lead] == '[' || tok[lead] == '"' || tok[lead] == '\'') {
			lead++
		}
		for trail > lead && isTrailPunct(tok[trail-1]) {
			trail--
		}
		dst = append(dst, tok[:lead]...)
		dst = append(dst, Wildcard...)
		return append(dst, tok[trail:]...)
	}
	if hasSlash {
		// A path inside a token, after an opening bracket, quote or
		// colon ("chdir(/home/x)", "file:/tmp/x"), is one variable too.
		for k := 1; k < len(tok); k++ {
			if tok[k] != '/' {
				continue
			}
			if c := tok[k-1]; (c == '(' || c == '[' || c == '"' || c == '\'' || c == ':') && isPathOrURL(tok[k:]) {
				trail := len(tok)
				for trail > k && isTrailPunct(tok[trail-1]) {
					trail--
				}
				dst = appendMaskedToken(dst, tok[:k], words)
				dst = append(dst, Wildcard...)
				return append(dst, tok[trail:]...)
			}
			break
		}
	}
	if hasEq {
		if eq := keyValueSplit(tok); eq > 0 {
			dst = append(dst, tok[:eq+1]...)
			rest := tok[eq+1:]
			end := 0
			for end < len(rest) && !isValueEnd(rest[end]) {
				end++
			}
			switch {
			case end > 0 && words:
				dst = appendMaskedToken(dst, rest[:end], words)
			case end > 0:
				dst = append(dst, Wildcard...)
			}
			if end < len(rest) {
				// The separator and whatever follows (another pair, a
				// closing bracket) are masked by the same rules.
				dst = append(dst, rest[end])
				dst = appendMaskedToken(dst, rest[end+1:], words)
			}
			return dst
		}
	}
	if !hasDigit {
		return append(dst, tok...)
	}
	start := len(dst)
	seg := 0
	for k := 0; k <= len(tok); k++ {
		if k < len(tok) && !isSegSep(tok[k]) {
			continue
		}
		s := tok[seg:k]
		if segHasDigit(s) {
			dst = appendWildcardMerged(dst, start)
		} else {
			dst = append(dst, s...)
		}
		if k < len(tok) {
			dst = append(dst, tok[k])
		}
		seg = k + 1
	}
	return dst
}

// appendWildcardMerged appends a wildcard unless the buffer (since start)
// already ends in "<*>:" or "<*>.", in which case the separator is dropped
// and the two variables become one.
func appendWildcardMerged(dst []byte, start int) []byte {
	if n := len(dst) - start; n >= 4 {
		t := dst[len(dst)-4:]
		if (t[3] == ':' || t[3] == '.') && string(t[:3]) == Wildcard {
			return dst[:len(dst)-1]
		}
	}
	return append(dst, Wildcard...)
}

func segHasDigit(s string) bool {
	for k := 0; k < len(s); k++ {
		if isDigit(s[k]) {
			return true
		}
	}
	return false
}

func isTrailPunct(c byte) bool {
	switch c {
	case ',', '.', ';', ':', ')', ']', '"', '\'', '!', '?':
		return true
	}
	return false
}

// isPathOrURL: "/x/y", "./x", "../x", "~/x", "scheme://x", also a path after
// a key ("file:/x/y") or in brackets.
func isPathOrURL(tok string) bool {
	t := tok
	for len(t) > 0 && (t[0] == '(' || t[0] == '[' || t[0] == '"' || t[0] == '\'') {
		t = t[1:]
	}
	if len(t) < 2 {
		return false
	}
	switch {
	case t[0] == '/' && t[1] != '/' && !isSpace(t[1]):
		return countByte(t, '/') >= 2 || segHasDigit(t)
	case len(t) > 2 && t[0] == '.' && t[1] == '/':
		return true
	case len(t) > 3 && t[0] == '.' && t[1] == '.' && t[2] == '/':
		return true
	case len(t) > 2 && t[0] == '~' && t[1] == '/':
		return true
	case len(t) > 3 && isAlpha(t[0]) && t[1] == ':' && t[2] == '\\':
		// A Windows path, "C:\Windows\x.dll".
		return true
	}
	for k := 1; k+2 < len(t); k++ {
		if t[k] == ':' && t[k+1] == '/' && t[k+2] == '/' {
			for m := 0; m < k; m++ {
				if !isAlpha(t[m]) && t[m] != '+' && t[m] != '-' && t[m] != '.' {
					return false
				}
			}
			return true
		}
		if !isAlpha(t[k]) && t[k] != '+' && t[k] != '-' && t[k] != '.' {
			return false
		}
	}
	return false
}

func countByte(s string, b byte) int {
	n := 0
	for k := 0; k < len(s); k++ {
		if s[k] == b {
			n++
		}
	}
	return n
}

// keyValueSplit returns the index of '=' when tok starts with key=, where
// the key is a word of letters, digits, '_', '-', '.', or -1.
func keyValueSplit(tok string) int {
	for k := 0; k < len(tok); k++ {
		c := tok[k]
		if c == '=' {
			if k == 0 {
				return -1
			}
			return k
		}
		if !isAlpha(c) && !isDigit(c) && c != '_' && c != '-' && c != '.' {
			return -1
		}
	}
	return -1
}

// Mask returns text with every variable part replaced by [Wildcard] and
// whitespace normalised, following the rules listed in the package
// documentation. Lines that are equal after Mask are duplicates.
func Mask(text string) string {
	b, _ := appendMasked(make([]byte, 0, len(text)), text)
	return string(b)
}
