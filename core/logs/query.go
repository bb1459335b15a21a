package logs

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Line is one record of a log.
type Line struct {
	// Time is when the line was read from the pipe (UTC, nanoseconds).
	// Stamps are strictly increasing within one stream of one process.
	Time time.Time
	// Name is the process (or instance) name.
	Name string
	// Stream is Out or Err.
	Stream Stream
	// Text is the line's bytes without the line end, exactly as written by
	// the app (ANSI codes and invalid UTF-8 included; see [StripANSI]).
	Text string
	// Continued is true when this record continues the previous record's
	// line: the app wrote a line longer than [MaxLineBytes], stored as
	// several records whose texts concatenate to the original.
	Continued bool
}

// Query selects lines. The zero value asks for the last
// [DefaultLines] lines of every process, both streams.
type Query struct {
	// Names are the processes to read; empty, or containing "all", means
	// every process with logs. Lines of several sources merge by time.
	Names []string
	// Streams selects Out, Err or Both (0 means Both).
	Streams Stream
	// Lines > 0 asks for the last Lines matching lines (within Since and
	// Until). 0 means [DefaultLines] when no Since, Until or Cursor is set,
	// and every matching line otherwise; < 0 means every matching line.
	Lines int
	// Since (inclusive) and Until (exclusive) bound the stamps; zero means
	// unbounded. The files are searched by bisection, not scanned.
	Since, Until time.Time
	// Grep keeps lines whose text matches. It is applied per record, so a
	// match across the split of a line longer than MaxLineBytes is missed.
	Grep *regexp.Regexp
	// Levels keeps lines whose level (from Classify) is one of these.
	Levels []string
	// Classify overrides [Options.Classify] for this query.
	Classify func(Line) string
	// MaxLines and MaxBytes (sum of len(Text)) bound the result; 0 means
	// [DefaultMaxLines] and [DefaultMaxBytes], < 0 means no bound. A result
	// cut by a bound has Truncated set; at least one line is always
	// returned so that paging progresses.
	MaxLines int
	MaxBytes int
	// Cursor continues a previous result: pass the same query with the
	// previous [Result.Cursor].
	Cursor string
}

// Defaults for [Query].
const (
	DefaultLines    = 15
	DefaultMaxLines = 10000
	DefaultMaxBytes = 4 << 20
)

// Result is the answer to a [Query]. Lines are in time order.
type Result struct {
	Lines []Line
	// Truncated is true when MaxLines or MaxBytes stopped the result while
	// more matching lines exist; Cursor then continues after the last line.
	Truncated bool
	// Cursor is the position after the last line returned (or examined).
	// With Truncated it fetches the rest of the selection; without, it
	// fetches lines written later (polling). Empty when nothing was found.
	Cursor string
}

// pos is a point in the merged order of all sources: lines are ordered by
// stamp, then by source (stamps are unique within a source), so a position
// stays valid across rotation, compression and restarts.
type pos struct {
	ts  int64
	key srcKey
}

// cursor is what a Cursor string encodes: the last position returned and
// how many lines of a "last N" selection remain (-1: no limit).
type cursor struct {
	after pos
	left  int
}

func (c cursor) encode() string {
	s := fmt.Sprintf("1|%d|%s|%d|%d", c.after.ts, c.after.key.name, c.after.key.stream, c.left)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, fmt.Errorf("bad cursor: %w", err)
	}
	f := strings.Split(string(b), "|")
	if len(f) != 5 || f[0] != "1" {
		return cursor{}, fmt.Errorf("bad cursor %q", s)
	}
	ts, err1 := strconv.ParseInt(f[1], 10, 64)
	st, err2 := strconv.Atoi(f[3])
	left, err3 := strconv.Atoi(f[4])
	if err1 != nil || err2 != nil || err3 != nil {
		return cursor{}, fmt.Errorf("bad cursor %q", s)
	}
	return cursor{after: pos{ts, srcKey{f[2], Stream(st)}}, left: left}, nil
}

// Query returns the lines q selects, reading rotated and gzipped files as
// needed. Everything stamped before the call is visible: buffered lines of
// the selected processes are written first.
func (s *Store) Query(ctx context.Context, q Query) (Result, error) {
	var c *cursor
	if q.Cursor != "" {
		cc, err := decodeCursor(q.Cursor)
		if err != nil {
			return Result{}, fmt.Errorf("query logs: %w", err)
		}
		c = &cc
	}
	res, _, err := s.query(ctx, q, c)
	return res, err
}

// plan is a query with its defaults resolved and its sources opened.
type plan struct {
	q        Query
	since    int64
	until    int64
	classify func(Line) string
	levels   map[string]bool
	srcs     []*source
}

// source is one stream of one process: its files, oldest first, the current
// one last and already open (it was opened while filesMu was held).
type source struct {
	key   srcKey
	files []fileEntry
	cur   *logFile
}

func (s *Store) plan(q Query) (*plan, error) {
	p := &plan{q: q, since: math.MinInt64, until: math.MaxInt64}
	if !q.Since.IsZero() {
		p.since = q.Since.UnixNano()
	}
	if !q.Until.IsZero() {
		p.until = q.Until.UnixNano()
	}
	if len(q.Levels) > 0 {
		p.levels = map[string]bool{}
		for _, l := range q.Levels {
			p.levels[strings.ToLower(l)] = true
		}
		p.classify = q.Classify
		if p.classify == nil {
			p.classify = s.opts.Classify
		}
		if p.classify == nil {
			p.classify = DefaultClassify
		}
	}
	streams := q.Streams
	if streams == 0 {
		streams = Both
	}
	var names map[string]bool
	for _, n := range q.Names {
		if n == "all" || n == "" {
			names = nil
			break
		}
		if names == nil {
			names = map[string]bool{}
		}
		names[n] = true
	}
	s.flushSinks(names)

	s.filesMu.Lock()
	defer s.filesMu.Unlock()
	all, err := listDir(s.opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("query logs: %w", err)
	}
	for k, files := range all {
		if (names != nil && !names[k.name]) || k.stream&streams == 0 {
			continue
		}
		src := &source{key: k, files: files}
		if last := files[len(files)-1]; last.seq == seqCurrent {
			// Open the current file now: a rotation after filesMu is
			// released renames it, and its lines must not be missed.
			lf, err := openLogFile(last)
			if err != nil {
				p.close()
				return nil, fmt.Errorf("query logs: %w", err)
			}
			src.cur = lf
		}
		p.srcs = append(p.srcs, src)
	}
	return p, nil
}

func (p *plan) close() {
	for _, src := range p.srcs {
		if src.cur != nil {
			src.cur.close()
		}
	}
}

func (p *plan) open(src *source, i int) (*logFile, error) {
	e := src.files[i]
	if e.seq == seqCurrent && src.cur != nil {
		return src.cur, nil
	}
	return openLogFile(e)
}

func (p *plan) release(src *source, lf *logFile) {
	if lf != src.cur {
		lf.close()
	}
}

// match applies the text filters (streams and times are applied by the
// readers).
func (p *plan) match(key srcKey, rc record) bool {
	if p.q.Grep != nil && !p.q.Grep.Match(rc.text) {
		return false
	}
	if p.levels != nil {
		return p.levels[p.classify(p.line(key, rc))]
	}
	return true
}

func (p *plan) line(key srcKey, rc record) Line {
	return Line{Time: time.Unix(0, rc.ts).UTC(), Name: key.name, Stream: key.stream, Text: string(rc.text), Continued: rc.cont}
}

// fwdIter reads one source forward in time from a minimum stamp.
type fwdIter struct {
	p    *plan
	src  *source
	min  int64 // inclusive
	max  int64 // exclusive
	i    int
	lf   *logFile
	r    *fwdReader
	head record
	ok   bool
	err  error
}

func (it *fwdIter) advance() {
	it.ok = false
	for {
		if it.r != nil {
			rc, ok := it.r.next()
			if ok {
				if rc.ts < it.min {
					continue
				}
				if rc.ts >= it.max {
					it.done()
					return
				}
				it.head, it.ok = rc, true
				return
			}
			it.p.release(it.src, it.lf)
			it.r, it.lf = nil, nil
			it.i++
		}
		if it.i >= len(it.src.files) {
			return
		}
		lf, err := it.p.open(it.src, it.i)
		if err != nil {
			// A rotated file deleted by pruning since it was listed holds
			// the oldest lines: skip it.
			it.i++
			continue
		}
		first, last, ok := lf.bounds()
		if !ok || last < it.min {
			it.p.release(it.src, lf)
			it.i++
			continue
		}
		if first >= it.max {
			it.p.release(it.src, lf)
			it.i = len(it.src.files)
			return
		}
		if err := lf.load(); err != nil {
			it.p.release(it.src, lf)
			it.err = err
			it.i = len(it.src.files)
			return
		}
		off := int64(0)
		if first < it.min {
			off = lf.seek(it.min)
		}
		it.lf, it.r = lf, newFwdReader(lf, off)
	}
}

func (it *fwdIter) done() {
	if it.lf != nil {
		it.p.release(it.src, it.lf)
	}
	it.lf, it.r = nil, nil
	it.i = len(it.src.files)
}

// bwdIter reads one source backward in time from a maximum stamp.
type bwdIter struct {
	p    *plan
	src  *source
	min  int64 // inclusive
	max  int64 // exclusive
	i    int
	lf   *logFile
	r    *bwdReader
	head record
	ok   bool
	err  error
}

func (it *bwdIter) advance() {
	it.ok = false
	for {
		if it.r != nil {
			rc, ok := it.r.prev()
			if ok {
				if rc.ts >= it.max {
					continue
				}
				if rc.ts < it.min {
					it.done()
					return
				}
				it.head, it.ok = rc, true
				return
			}
			it.p.release(it.src, it.lf)
			it.r, it.lf = nil, nil
			it.i--
		}
		if it.i < 0 {
			return
		}
		lf, err := it.p.open(it.src, it.i)
		if err != nil {
			it.i--
			continue
		}
		first, last, ok := lf.bounds()
		if !ok || first >= it.max {
			it.p.release(it.src, lf)
			it.i--
			continue
		}
		if last < it.min {
			it.p.release(it.src, lf)
			it.i = -1
			return
		}
		if err := lf.load(); err != nil {
			it.p.release(it.src, lf)
			it.err = err
			it.i = -1
			return
		}
		end := lf.dataEnd()
		if last >= it.max {
			end = lf.seek(it.max)
		}
		it.lf, it.r = lf, newBwdReader(lf, end)
	}
}

func (it *bwdIter) done() {
	if it.lf != nil {
		it.p.release(it.src, it.lf)
	}
	it.lf, it.r = nil, nil
	it.i = -1
}

// checkEvery is how many records are read between context checks.
const checkEvery = 4096

// query runs q from an optional cursor. It also returns the position after
// which a later query finds only newer lines (for Follow).
func (s *Store) query(ctx context.Context, q Query, c *cursor) (Result, *pos, error) {
	p, err := s.plan(q)
	if err != nil {
		return Result{}, nil, err
	}
	defer p.close()

	maxLines, maxBytes := q.MaxLines, q.MaxBytes
	if maxLines == 0 {
		maxLines = DefaultMaxLines
	}
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	if maxLines < 0 {
		maxLines = math.MaxInt
	}
	if maxBytes < 0 {
		maxBytes = math.MaxInt
	}

	// Where the forward pass starts: after the cursor, at the start of the
	// last N lines, or at Since.
	var start *pos // inclusive
	var after *pos // exclusive
	left := -1
	switch {
	case c != nil:
		after, left = &c.after, c.left
	default:
		n := q.Lines
		if n == 0 && q.Since.IsZero() && q.Until.IsZero() {
			n = DefaultLines
		}
		if n > 0 {
			left = n
			start, err = s.tailStart(ctx, p, n)
			if err != nil {
				return Result{}, nil, err
			}
		}
	}
	if left == 0 {
		return Result{Cursor: q.Cursor}, after, nil
	}

	its := make([]*fwdIter, 0, len(p.srcs))
	for _, src := range p.srcs {
		it := &fwdIter{p: p, src: src, min: p.since, max: p.until}
		switch {
		case after != nil:
			m := after.ts
			if src.key.compare(after.key) <= 0 {
				m++
			}
			it.min = max(it.min, m)
		case start != nil:
			m := start.ts
			if src.key.less(start.key) {
				m++
			}
			it.min = max(it.min, m)
		}
		it.advance()
		if it.err != nil {
			return Result{}, nil, it.err
		}
		its = append(its, it)
	}
	var res Result
	var last *pos
	bytes, n := 0, 0
	for {
		if n++; n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return Result{}, nil, err
			}
		}
		var best *fwdIter
		for _, it := range its {
			if it.ok && (best == nil || it.head.ts < best.head.ts ||
				(it.head.ts == best.head.ts && it.src.key.less(best.src.key))) {
				best = it
			}
		}
		if best == nil {
			break
		}
		rc := best.head
		if p.match(best.src.key, rc) {
			if len(res.Lines) >= maxLines || (len(res.Lines) > 0 && bytes+len(rc.text) > maxBytes) {
				res.Truncated = true
				break
			}
			res.Lines = append(res.Lines, p.line(best.src.key, rc))
			bytes += len(rc.text)
			if left > 0 && len(res.Lines) == left {
				last = &pos{rc.ts, best.src.key}
				for _, it := range its {
					it.done()
				}
				break
			}
		}
		last = &pos{rc.ts, best.src.key}
		best.advance()
		if best.err != nil {
			return Result{}, nil, best.err
		}
	}
	for _, it := range its {
		it.done()
	}
	if res.Truncated {
		lp := res.Lines[len(res.Lines)-1]
		k := srcKey{lp.Name, lp.Stream}
		rem := -1
		if left > 0 {
			rem = left - len(res.Lines)
		}
		res.Cursor = cursor{after: pos{lp.Time.UnixNano(), k}, left: rem}.encode()
		return res, &pos{lp.Time.UnixNano(), k}, nil
	}
	if last == nil {
		last = after
	}
	if last != nil {
		res.Cursor = cursor{after: *last, left: -1}.encode()
	}
	return res, last, nil
}

// tailStart finds the position of the n-th last matching line by reading
// all sources backward, merged by time; nil means "from Since".
func (s *Store) tailStart(ctx context.Context, p *plan, n int) (*pos, error) {
	its := make([]*bwdIter, 0, len(p.srcs))
	for _, src := range p.srcs {
		it := &bwdIter{p: p, src: src, min: p.since, max: p.until, i: len(src.files) - 1}
		it.advance()
		if it.err != nil {
			return nil, it.err
		}
		its = append(its, it)
	}
	defer func() {
		for _, it := range its {
			it.done()
		}
	}()
	count := 0
	for k := 1; ; k++ {
		if k%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var best *bwdIter
		for _, it := range its {
			if it.ok && (best == nil || it.head.ts > best.head.ts ||
				(it.head.ts == best.head.ts && best.src.key.less(it.src.key))) {
				best = it
			}
		}
		if best == nil {
			return nil, nil
		}
		if p.match(best.src.key, best.head) {
			if count++; count == n {
				return &pos{best.head.ts, best.src.key}, nil
			}
		}
		best.advance()
		if best.err != nil {
			return nil, best.err
		}
	}
}
