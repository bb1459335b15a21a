package insight

import (
	"path"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Line is one log line as Velos stores it: the arrival time, the stream
// ("out" or "err") and the text without its line end.
type Line struct {
	Time   time.Time
	Stream string
	Text   string
}

// Event is one log event: a head line and the continuation lines grouped
// with it (a stack trace, a Go panic's goroutine dump).
type Event struct {
	Time   time.Time `json:"time"`
	Stream string    `json:"stream"`
	// Head is the first line.
	Head string `json:"head"`
	// More holds the continuation lines (nil for a one-line event); with
	// Head it is capped at [MaxEventLines].
	More []string `json:"more,omitempty"`
	// Dropped counts continuation lines beyond the cap.
	Dropped int `json:"dropped,omitempty"`
}

// Lines returns the head followed by the continuation lines.
func (e *Event) Lines() []string {
	return append([]string{e.Head}, e.More...)
}

// line returns line k of the event (0 is the head).
func (e *Event) line(k int) string {
	if k == 0 {
		return e.Head
	}
	return e.More[k-1]
}

func (e *Event) numLines() int { return 1 + len(e.More) }

// MaxEventLines caps the lines kept per event, so a runaway dump cannot
// grow one event without bound.
const MaxEventLines = 200

// maxEventGap is how far apart two lines of one event may arrive: a stack
// trace is written at once, so a long pause means a new event.
const maxEventGap = 2 * time.Second

// Message returns the line that best says what happened: the head, except
// for a Python traceback, whose head is "Traceback (most recent call
// last):" and whose last exception line ("ValueError: …") is the message.
func (e *Event) Message() string {
	h := e.Head
	if strings.HasPrefix(strings.TrimSpace(h), "Traceback (most recent call last)") {
		for k := len(e.More) - 1; k >= 0; k-- {
			if l := e.More[k]; l != "" && !isSpace(l[0]) {
				return l
			}
		}
	}
	return h
}

var (
	// reFrame finds "file.ext:line" or `file.ext", line N` in source
	// locations as stack traces and loggers print them. Compiled on first
	// use: every velos command links this package, few use it.
	reFrame = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`([A-Za-z0-9_.\-/\\@]+\.(?:go|js|mjs|cjs|ts|tsx|jsx|py|java|kt|kts|scala|rb|rs|c|cc|cpp|cxx|h|hpp|php|cs|ex|exs|swift|dart|lua|pl|erl))(?:"?, line |:)(\d+)`)
	})
)

// Location returns the source location of the event as "file:line" with
// the file's base name (e.g. "db.js:42"), or "". For a Python traceback it
// is the innermost frame (the last); otherwise the first frame that is not
// in a runtime or dependency (node:internal, node_modules, Go's runtime,
// site-packages), falling back to the first frame; for a single line, the
// first location in the text.
func (e *Event) Location() string {
	python := false
	var first, firstOwn string
	for k := 0; k < e.numLines(); k++ {
		l := e.line(k)
		if k > 0 && strings.Contains(l, `File "`) {
			python = true
		}
		m := reFrame().FindStringSubmatch(l)
		if m == nil {
			continue
		}
		loc := path.Base(strings.ReplaceAll(m[1], `\`, "/")) + ":" + m[2]
		if python {
			firstOwn = loc // keep the last one
			continue
		}
		if first == "" {
			first = loc
		}
		if firstOwn == "" && !isDependencyFrame(l) {
			firstOwn = loc
		}
	}
	if firstOwn != "" {
		return firstOwn
	}
	return first
}

func isDependencyFrame(l string) bool {
	for _, s := range [...]string{"node:", "node_modules", "/src/runtime/", "/go/pkg/mod/", "site-packages", "dist-packages", "internal/", "java.base/", "(Native Method)"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// Grouper joins continuation lines to their head line, per stream. Feed
// lines in arrival order with [Grouper.Add]; a completed event comes back
// when the next head line of its stream arrives, or from [Grouper.Flush].
// A Grouper is not safe for concurrent use.
//
// A line continues the open event of its stream (arriving within 2 s of
// the previous line) when it:
//   - is blank, or starts with a space or tab (Java "\tat", Node "    at",
//     Python "  File", Go "\t/path/x.go:12");
//   - starts with "Caused by:", "Suppressed:", "During handling of the
//     above exception", "The above exception was the direct cause";
//   - is an exception line "pkg.SomeException: msg" (Java, logged after an
//     error line) or, inside a Python traceback, the final "ValueError: …";
//   - inside a Go panic ("panic: …", "fatal error: …"): "goroutine N [",
//     "[signal …", "created by …", a call frame "pkg.fn(…)", "exit status N".
type Grouper struct {
	open [2]*groupState // index 0: out (and any other stream), 1: err
}

type groupState struct {
	ev   Event
	last time.Time
	kind eventKind
}

type eventKind uint8

const (
	kindPlain eventKind = iota
	kindPython
	kindGoPanic
)

func streamIndex(s string) int {
	if s == StreamErr {
		return 1
	}
	return 0
}

// Add feeds one line. When it starts a new event and its stream had an
// open one, that completed event is returned with ok true.
func (g *Grouper) Add(l Line) (done Event, ok bool) {
	si := streamIndex(l.Stream)
	st := g.open[si]
	if st != nil && g.continues(st, l) {
		if len(st.ev.More)+1 < MaxEventLines {
			st.ev.More = append(st.ev.More, l.Text)
		} else {
			st.ev.Dropped++
		}
		st.last = l.Time
		switch {
		case headKind(l.Text) == kindPython:
			st.kind = kindPython
		case st.kind == kindPython && isExceptionLine(l.Text):
			st.kind = kindPlain
		}
		return Event{}, false
	}
	if st != nil {
		done, ok = st.ev, true
	} else {
		st = &groupState{}
		g.open[si] = st
	}
	st.ev = Event{Time: l.Time, Stream: l.Stream, Head: l.Text}
	st.last = l.Time
	st.kind = headKind(l.Text)
	return done, ok
}

// Pending reports whether an event is open on any stream.
func (g *Grouper) Pending() bool { return g.open[0] != nil || g.open[1] != nil }

// Flush returns the open events (oldest first) and clears them.
func (g *Grouper) Flush() []Event {
	var out []Event
	for i, st := range g.open {
		if st != nil {
			out = append(out, st.ev)
			g.open[i] = nil
		}
	}
	if len(out) == 2 && out[1].Time.Before(out[0].Time) {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

func headKind(text string) eventKind {
	t := strings.TrimSpace(text)
	switch {
	case strings.HasPrefix(t, "Traceback (most recent call last)"):
		return kindPython
	case strings.HasPrefix(t, "panic: "), strings.HasPrefix(t, "fatal error: "):
		return kindGoPanic
	}
	return kindPlain
}

func (g *Grouper) continues(st *groupState, l Line) bool {
	if !st.last.IsZero() && !l.Time.IsZero() && l.Time.Sub(st.last) > maxEventGap {
		return false
	}
	t := l.Text
	if t == "" || isSpace(t[0]) {
		return true
	}
	for _, p := range [...]string{"Caused by:", "Suppressed:", "During handling of the above exception", "The above exception was the direct cause", "Traceback (most recent call last)"} {
		if strings.HasPrefix(t, p) {
			// A second traceback continues the first only when chained.
			return p != "Traceback (most recent call last)" || lastIsChainText(st)
		}
	}
	switch st.kind {
	case kindPython:
		return isExceptionLine(t)
	case kindGoPanic:
		return strings.HasPrefix(t, "goroutine ") || strings.HasPrefix(t, "[signal ") ||
			strings.HasPrefix(t, "created by ") || strings.HasPrefix(t, "exit status ") ||
			isCallFrame(t)
	}
	return isJavaExceptionLine(t)
}

// lastIsChainText reports whether the event's last non-blank line is one of
// Python's "During handling…" / "The above exception…" connectors.
func lastIsChainText(st *groupState) bool {
	for k := st.ev.numLines() - 1; k >= 0; k-- {
		l := st.ev.line(k)
		if strings.TrimSpace(l) == "" {
			continue
		}
		return strings.HasPrefix(l, "During handling") || strings.HasPrefix(l, "The above exception")
	}
	return false
}

// isExceptionLine: "ValueError: msg", "json.decoder.JSONDecodeError: …",
// "KeyboardInterrupt" — a dotted identifier, optionally followed by ": …".
func isExceptionLine(t string) bool {
	k := 0
	for k < len(t) && (isAlpha(t[k]) || isDigit(t[k]) || t[k] == '_' || t[k] == '.') {
		k++
	}
	if k == 0 || isDigit(t[0]) {
		return false
	}
	return k == len(t) || (t[k] == ':' && (k+1 == len(t) || t[k+1] == ' '))
}

// isJavaExceptionLine: "java.lang.IllegalStateException: boom" or
// "com.acme.FooError" — a dotted class name ending in Exception, Error or
// Throwable, optionally followed by ": …".
func isJavaExceptionLine(t string) bool {
	if !isExceptionLine(t) {
		return false
	}
	name := t
	if c := strings.IndexByte(t, ':'); c >= 0 {
		name = t[:c]
	}
	return strings.Contains(name, ".") && (strings.HasSuffix(name, "Exception") || strings.HasSuffix(name, "Error") || strings.HasSuffix(name, "Throwable"))
}

// isCallFrame: a Go stack frame "main.main()" or "net/http.(*conn).serve(0xc0…)".
func isCallFrame(t string) bool {
	if !strings.HasSuffix(t, ")") {
		return false
	}
	p := strings.IndexByte(t, '(')
	return p > 0 && !strings.ContainsAny(t[:p], " \t") || strings.HasPrefix(t, "panic(")
}
