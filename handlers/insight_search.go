package handlers

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/core/logs"
	"github.com/velos-pm/velos/tools"
)

// LogSearch answers log_search.
var LogSearch = Bind(tools.LogSearch, runSearch)

// Bounds of a search answer: an agent pays for every line.
const (
	maxSearchLimit   = 200
	maxSearchContext = 10
	maxSearchLine    = 1000 // bytes of one line shown
)

func runSearch(ctx context.Context, d *Deps, in tools.SearchIn) (tools.SearchOut, error) {
	pat := in.Pattern
	if in.IgnoreCase {
		pat = "(?i)" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return tools.SearchOut{}, fmt.Errorf("search: pattern %q: %w", in.Pattern, err)
	}
	lvl, err := minLevel(in.Level)
	if err != nil {
		return tools.SearchOut{}, fmt.Errorf("search: %w", err)
	}
	switch {
	case in.Limit < 0 || in.Limit > maxSearchLimit:
		return tools.SearchOut{}, fmt.Errorf("search: limit %d: want 1 to %d", in.Limit, maxSearchLimit)
	case in.Before < 0 || in.Before > maxSearchContext || in.After < 0 || in.After > maxSearchContext:
		return tools.SearchOut{}, fmt.Errorf("search: before/after: want 0 to %d lines", maxSearchContext)
	case in.Limit == 0:
		in.Limit = 20
	}
	since, until, err := in.Bounds(time.Now())
	if err != nil {
		return tools.SearchOut{}, fmt.Errorf("search: %w", err)
	}
	if in.Cursor != "" {
		ns, err := strconv.ParseInt(in.Cursor, 36, 64)
		if err != nil {
			return tools.SearchOut{}, fmt.Errorf("search: cursor %q: not one this tool gave", in.Cursor)
		}
		c := time.Unix(0, ns)
		if until.IsZero() || c.Before(until) {
			until = c
		}
	}
	infos, err := targetInfos(d, in.Target)
	if err != nil {
		return tools.SearchOut{}, fmt.Errorf("search: %w", err)
	}
	keepSecretsIf(ctx, infos)

	s := newSearcher(in, re, lvl, len(infos) > 1)
	q := logs.Query{Names: logNames(infos), Since: since, Until: until}
	if in.Before == 0 && in.After == 0 {
		q.Grep = re // no context wanted: let the store skip the rest
	}
	if err := scanLogs(ctx, d.Logs, q, s.add); err != nil {
		return tools.SearchOut{}, fmt.Errorf("search %s: %w", in.Target, err)
	}
	return s.result(), nil
}

// searcher keeps the latest Limit matches in a ring, and per source the
// last Before lines, so memory is bounded by the answer's size.
type searcher struct {
	in     tools.SearchIn
	re     *regexp.Regexp
	lvl    insight.Level
	multi  bool
	ring   []tools.SearchMatch // latest matches, circular from next
	next   int
	total  int
	recent map[string][]string // per source, the last Before lines
	open   map[string][]int    // per source, ring slots still collecting After lines
}

func newSearcher(in tools.SearchIn, re *regexp.Regexp, lvl insight.Level, multi bool) *searcher {
	return &searcher{in: in, re: re, lvl: lvl, multi: multi, ring: make([]tools.SearchMatch, 0, in.Limit),
		recent: map[string][]string{}, open: map[string][]int{}}
}

func (s *searcher) add(l logs.Line) error {
	text := logs.StripANSI(l.Text)
	src := l.Name + "/" + l.Stream.String()
	shown := tools.Clip(text, maxSearchLine)
	if slots := s.open[src]; len(slots) > 0 {
		keep := slots[:0]
		for _, i := range slots {
			m := &s.ring[i]
			m.After = append(m.After, shown)
			if len(m.After) < s.in.After {
				keep = append(keep, i)
			}
		}
		s.open[src] = keep
	}
	if s.re.MatchString(text) && (s.lvl == insight.LevelUnknown || insight.Classify(l.Stream.String(), text, insight.DefaultStderrLevel) >= s.lvl) {
		s.total++
		m := tools.SearchMatch{Time: l.Time, Stream: l.Stream.String(), Text: shown}
		if s.multi {
			m.Process = l.Name
		}
		if b := s.recent[src]; len(b) > 0 {
			m.Before = append([]string(nil), b...)
		}
		var slot int
		if len(s.ring) < cap(s.ring) {
			slot = len(s.ring)
			s.ring = append(s.ring, m)
		} else {
			slot = s.next
			s.ring[slot] = m
			s.next = (s.next + 1) % len(s.ring)
			for k, slots := range s.open { // the evicted match no longer collects
				s.open[k] = removeInt(slots, slot)
			}
		}
		if s.in.After > 0 {
			s.open[src] = append(s.open[src], slot)
		}
	}
	if s.in.Before > 0 {
		b := append(s.recent[src], shown)
		if len(b) > s.in.Before {
			b = b[len(b)-s.in.Before:]
		}
		s.recent[src] = b
	}
	return nil
}

func removeInt(xs []int, x int) []int {
	out := xs[:0]
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}

func (s *searcher) result() tools.SearchOut {
	out := tools.SearchOut{Matches: make([]tools.SearchMatch, 0, len(s.ring)), Total: s.total}
	out.Matches = append(out.Matches, s.ring[s.next:]...)
	out.Matches = append(out.Matches, s.ring[:s.next]...)
	if s.total > len(out.Matches) {
		out.Truncated = true
		out.Cursor = strconv.FormatInt(out.Matches[0].Time.UnixNano(), 36)
		out.Note = fmt.Sprintf("latest %d of %d; cursor gives earlier ones", len(out.Matches), s.total)
	}
	return out
}
