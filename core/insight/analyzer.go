package insight

import (
	"sort"
	"strings"
	"time"
)

// Options configures an [Analyzer]. The zero value is the default
// configuration.
type Options struct {
	// Source names what is analysed (a process name), copied into
	// anomalies and the digest.
	Source string
	// StderrLevel is the level of a stderr line that states none. Zero
	// means [DefaultStderrLevel] (warn); set StderrUnknown to leave such
	// lines unknown instead.
	StderrLevel   Level
	StderrUnknown bool
	// Miner configures pattern mining.
	Miner MinerConfig
	// Anomaly configures anomaly detection.
	Anomaly AnomalyConfig
	// MaxRows caps the dedupe rows kept; beyond it a rarely and least
	// recently seen row is evicted (sampled, see [Miner]). Default 10000.
	MaxRows int
}

// Analyzer ingests the lines of one source and keeps, cheaply per line:
// levels, dedupe rows, mined patterns, error/warning rates and anomalies.
// Memory is bounded by [Options.MaxRows], [MinerConfig.MaxTemplates] and
// [AnomalyConfig.MaxAnomalies]. An Analyzer is not safe for concurrent use.
type Analyzer struct {
	opts   Options
	stderr Level
	miner  *Miner
	group  Grouper

	rows map[string]*Row
	seq  uint64
	buf  []byte
	qbuf []byte
	kbuf []byte

	lines, events     int
	errors, warnings  int
	byLevel           [LevelFatal + 1]int
	first, last       time.Time
	lastErr           Event // by value: no allocation per error line
	hasLastErr        bool
	lastErrLevel      Level
	errRate, warnRate rateTracker
	anomalies         []Anomaly
	minutesSeen       time.Time // first line's minute, for the warm-up
}

// NewAnalyzer returns an Analyzer with opts.
func NewAnalyzer(opts Options) *Analyzer {
	opts.Anomaly = opts.Anomaly.withDefaults()
	if opts.MaxRows <= 0 {
		opts.MaxRows = 10000
	}
	a := &Analyzer{opts: opts, miner: NewMiner(opts.Miner), rows: map[string]*Row{}}
	a.stderr = opts.StderrLevel
	if a.stderr == LevelUnknown && !opts.StderrUnknown {
		a.stderr = DefaultStderrLevel
	}
	a.errRate.kind, a.errRate.miner = KindErrorSpike, a.miner
	a.warnRate.kind, a.warnRate.miner = KindWarningSpike, a.miner
	return a
}

// Add ingests one line. Continuation lines (stack frames) are grouped with
// their head line; an event is analysed once it is complete, that is when
// the next event of its stream starts or on [Analyzer.Flush].
func (a *Analyzer) Add(l Line) {
	a.lines++
	if a.first.IsZero() || l.Time.Before(a.first) {
		a.first = l.Time
	}
	if l.Time.After(a.last) {
		a.last = l.Time
	}
	if ev, ok := a.group.Add(l); ok {
		a.process(&ev)
	}
}

// Flush analyses the events still open in the grouper. Call it at the end
// of input; a trace still being written when Flush is called is split.
func (a *Analyzer) Flush() {
	for _, ev := range a.group.Flush() {
		a.process(&ev)
	}
}

func (a *Analyzer) process(ev *Event) {
	if ev.More == nil && strings.TrimSpace(ev.Head) == "" {
		return
	}
	a.events++
	lvl, msg := a.eventLevel(ev)
	a.byLevel[lvl]++
	t := ev.Time

	a.errRate.advance(t, &a.opts.Anomaly, a.flag)
	a.warnRate.advance(t, &a.opts.Anomaly, a.flag)
	if a.minutesSeen.IsZero() {
		a.minutesSeen = t
	}

	a.buf = appendMinable(a.buf[:0], msg)
	key := a.buf
	if strings.IndexByte(msg, '=') >= 0 && keepsWordValue(a.buf) {
		// Dedupe masks every key=value's value (see [Mask]).
		a.kbuf, _ = appendMasked(a.kbuf[:0], msg)
		key = a.kbuf
	}
	if strings.IndexByte(msg, '"') >= 0 {
		a.qbuf = maskQuoted(a.qbuf[:0], key)
		key = a.qbuf
	}
	m, isNew := a.miner.add(a.buf)
	a.seq++
	row := a.rows[string(key)]
	if row == nil {
		row = &Row{Text: string(key), First: t}
		if len(a.rows) >= a.opts.MaxRows {
			a.evictRow()
		}
		a.rows[row.Text] = row
	}
	row.msg = m
	row.Count++
	row.Example = msg
	row.seq = a.seq
	if t.After(row.Last) {
		row.Last = t
	}
	row.Level = max(row.Level, lvl)
	if m.first.IsZero() || t.Before(m.first) {
		m.first = t
	}
	if t.After(m.last) {
		m.last = t
	}
	if lvl > m.level || m.example == "" {
		m.example = msg
	}
	m.level = max(m.level, lvl)
	c := m.c

	switch {
	case lvl >= LevelError:
		a.errors++
		a.errRate.add(m)
		a.lastErr, a.lastErrLevel, a.hasLastErr = *ev, lvl, true
		if isNew && a.warmedUp(t) {
			a.flag(Anomaly{Kind: KindNewError, Start: t, End: t, Count: 1,
				Patterns: []PatternCount{{PatternID: m.id, Template: c.template(), Count: 1}}, Example: msg})
		}
	case lvl == LevelWarn:
		a.warnings++
		a.warnRate.add(m)
	}
}

// keepsWordValue reports whether the miner's masked text kept a
// key=value's value that [Mask] would make a variable: a value that does
// not start with one.
func keepsWordValue(b []byte) bool {
	for k := 0; k+1 < len(b); k++ {
		wild := k+3 < len(b) && b[k+1] == '<' && b[k+2] == '*' && b[k+3] == '>'
		if b[k] == '=' && b[k+1] != ' ' && !isValueEnd(b[k+1]) && !wild {
			return true
		}
	}
	return false
}

// warmedUp: new errors are flagged only after WarmUp minutes of input, so
// the first errors of a fresh log are not all "new".
func (a *Analyzer) warmedUp(t time.Time) bool {
	return t.Sub(a.minutesSeen) >= time.Duration(a.opts.Anomaly.WarmUp)*time.Minute
}

// eventLevel is the line's level (with the stderr rule), raised to error
// for a stack trace or traceback and to fatal for a Go panic.
// It also returns the event's message (see [Event.Message], [messageOf]).
func (a *Analyzer) eventLevel(ev *Event) (Level, string) {
	lvl, msg := levelAndMessage(ev.Head, true)
	if lvl == LevelUnknown && ev.Stream == StreamErr {
		lvl = a.stderr
	}
	if ev.More == nil {
		return lvl, msg
	}
	msg = messageOf(ev.Message())
	switch headKind(ev.Head) {
	case kindGoPanic:
		return LevelFatal, msg
	case kindPython:
		return max(lvl, LevelError), msg
	}
	if lvl < LevelError {
		for _, l := range ev.More {
			t := strings.TrimSpace(l)
			if strings.HasPrefix(t, "at ") || strings.HasPrefix(t, "Caused by:") || isJavaExceptionLine(t) {
				return LevelError, msg
			}
		}
	}
	return lvl, msg
}

func (a *Analyzer) flag(an Anomaly) {
	an.Source = a.opts.Source
	if len(a.anomalies) == a.opts.Anomaly.MaxAnomalies {
		copy(a.anomalies, a.anomalies[1:])
		a.anomalies = a.anomalies[:len(a.anomalies)-1]
	}
	a.anomalies = append(a.anomalies, an)
}

// evictRow drops a row that is rarely and least recently seen, from a
// sample of the map (O(1); see [Miner]).
func (a *Analyzer) evictRow() {
	var victim *Row
	k := 0
	for _, r := range a.rows {
		if victim == nil || r.Count < victim.Count || (r.Count == victim.Count && r.seq < victim.seq) {
			victim = r
		}
		if k++; k == evictionSample {
			break
		}
	}
	if victim != nil {
		delete(a.rows, victim.Text)
	}
}

// Rows returns up to n dedupe rows (all when n <= 0), most frequent first,
// ties by most recent.
func (a *Analyzer) Rows(n int) []Row {
	a.miner.Groups()
	out := make([]Row, 0, len(a.rows))
	for _, r := range a.rows {
		rr := *r
		if r.msg.g != nil {
			rr.PatternID = r.msg.g.ID
		}
		rr.msg = nil
		out = append(out, rr)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		if !out[i].Last.Equal(out[j].Last) {
			return out[i].Last.After(out[j].Last)
		}
		return out[i].Text < out[j].Text
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// Pattern is one mined template with its bookkeeping.
type Pattern struct {
	ID int `json:"id"`
	// Template is the text with each variable part as [Wildcard].
	Template string    `json:"template"`
	Count    int       `json:"count"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
	// Level is the most severe level seen on the pattern's lines.
	Level Level `json:"level"`
	// Example is one message of the pattern (the first at its highest
	// level).
	Example string `json:"example"`
}

// Patterns returns up to n patterns (all when n <= 0), most frequent first.
// Only patterns that lines were counted in are listed.
func (a *Analyzer) Patterns(n int) []Pattern {
	gs := a.miner.Groups()
	out := make([]Pattern, 0, len(gs))
	for _, g := range gs {
		p := Pattern{ID: g.ID, Template: g.Template, Count: g.Count}
		var ex *message
		for _, m := range g.msgs {
			if p.First.IsZero() || m.first.Before(p.First) {
				p.First = m.first
			}
			if m.last.After(p.Last) {
				p.Last = m.last
			}
			if ex == nil || m.level > ex.level || m.level == ex.level && m.id < ex.id {
				ex = m
			}
		}
		p.Level, p.Example = ex.level, ex.example
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].ID < out[j].ID
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// Anomalies returns the anomalies flagged so far, oldest first, plus a
// spike in the still-open minute when it already crosses the threshold.
func (a *Analyzer) Anomalies() []Anomaly {
	out := append([]Anomaly(nil), a.anomalies...)
	for _, r := range []*rateTracker{&a.errRate, &a.warnRate} {
		if an, ok := r.judge(&a.opts.Anomaly); ok {
			an.Source = a.opts.Source
			out = append(out, an)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// ErrorInfo describes one error event.
type ErrorInfo struct {
	Time    time.Time `json:"time"`
	Level   Level     `json:"level"`
	Message string    `json:"message"`
	// Location is "file:line" when the event names one ("db.js:42").
	Location string `json:"location,omitempty"`
	// Lines is the number of lines in the event (a stack trace has many).
	Lines int `json:"lines"`
}

// String renders "message at file:line", or the message alone.
func (e ErrorInfo) String() string {
	if e.Location == "" {
		return e.Message
	}
	return e.Message + " at " + e.Location
}

// Digest summarises what an Analyzer has seen. Restarts are added by the
// caller.
type Digest struct {
	Source    string         `json:"source,omitempty"`
	From      time.Time      `json:"from"`
	To        time.Time      `json:"to"`
	Lines     int            `json:"lines"`
	Events    int            `json:"events"`
	Errors    int            `json:"errors"`
	Warnings  int            `json:"warnings"`
	Levels    map[string]int `json:"levels,omitempty"`
	LastError *ErrorInfo     `json:"last_error,omitempty"`
	// TopPatterns are the most frequent patterns (at most 10).
	TopPatterns []Pattern `json:"top_patterns"`
	// TopErrors are the most frequent error and warning dedupe rows (at
	// most 10).
	TopErrors []Row     `json:"top_errors,omitempty"`
	Anomalies []Anomaly `json:"anomalies,omitempty"`
}

// DigestTop is how many patterns and rows a [Digest] lists.
const DigestTop = 10

// Digest flushes open events and returns the summary of everything ingested.
func (a *Analyzer) Digest() Digest {
	a.Flush()
	d := Digest{Source: a.opts.Source, From: a.first, To: a.last, Lines: a.lines, Events: a.events,
		Errors: a.errors, Warnings: a.warnings, Levels: map[string]int{}}
	for l, n := range a.byLevel {
		if n > 0 {
			d.Levels[strings.ToLower(Level(l).String())] = n
		}
	}
	if a.hasLastErr {
		e := &a.lastErr
		d.LastError = &ErrorInfo{Time: e.Time, Level: a.lastErrLevel, Message: messageOf(e.Message()), Location: e.Location(), Lines: e.numLines() + e.Dropped}
	}
	d.TopPatterns = a.Patterns(DigestTop)
	for _, r := range a.Rows(0) {
		if r.Level >= LevelWarn {
			d.TopErrors = append(d.TopErrors, r)
			if len(d.TopErrors) == DigestTop {
				break
			}
		}
	}
	d.Anomalies = a.Anomalies()
	return d
}

// Summarize analyses lines (already cut to the time range wanted) with
// opts and returns their digest.
func Summarize(lines []Line, opts Options) Digest {
	a := NewAnalyzer(opts)
	for _, l := range lines {
		a.Add(l)
	}
	return a.Digest()
}
