package logs

import (
	"context"
	"sync"
	"time"
)

// NotifyInterval is the shortest time between two signals of one
// subscription: bursts of lines are coalesced into at most a few signals
// per second.
const NotifyInterval = 200 * time.Millisecond

// subscription is one Subscribe call. Its channel has room for one signal,
// which coalesces signals the subscriber has not consumed yet.
type subscription struct {
	name    string
	ch      chan struct{}
	last    time.Time
	timer   *time.Timer
	pending bool
	closed  bool
}

type subscribers struct {
	mu   sync.Mutex
	subs map[*subscription]struct{}
}

func (ss *subscribers) init() { ss.subs = map[*subscription]struct{}{} }

// notify signals the subscribers of name (and those of every name). It
// never blocks: the rate limit uses a timer, not the writer's time.
func (ss *subscribers) notify(name string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.subs) == 0 {
		return
	}
	now := time.Now()
	for sub := range ss.subs {
		if sub.name != "" && sub.name != name {
			continue
		}
		if wait := NotifyInterval - now.Sub(sub.last); wait > 0 {
			if !sub.pending {
				sub.pending = true
				sub.timer = time.AfterFunc(wait, func() { ss.fire(sub) })
			}
			continue
		}
		sub.last = now
		signal(sub.ch)
	}
}

func (ss *subscribers) fire(sub *subscription) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	sub.pending = false
	if sub.closed {
		return
	}
	sub.last = time.Now()
	signal(sub.ch)
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (ss *subscribers) cancel(sub *subscription) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if sub.closed {
		return
	}
	sub.closed = true
	if sub.timer != nil {
		sub.timer.Stop()
	}
	delete(ss.subs, sub)
	close(sub.ch)
}

func (ss *subscribers) closeAll() {
	ss.mu.Lock()
	subs := make([]*subscription, 0, len(ss.subs))
	for sub := range ss.subs {
		subs = append(subs, sub)
	}
	ss.mu.Unlock()
	for _, sub := range subs {
		ss.cancel(sub)
	}
}

// Subscribe returns a channel that receives a signal when new lines of
// name ("" for any process) have been written to its files, at most once
// per [NotifyInterval], and a cancel function that closes the channel. A
// signal carries no data: query after it (e.g. with the last Cursor). The
// channel is also closed by [Store.Close].
func (s *Store) Subscribe(name string) (updates <-chan struct{}, cancel func()) {
	sub := &subscription{name: name, ch: make(chan struct{}, 1)}
	s.subs.mu.Lock()
	s.subs.subs[sub] = struct{}{}
	s.subs.mu.Unlock()
	return sub.ch, func() { s.subs.cancel(sub) }
}

// followPage bounds each query Follow makes, so a burst of lines is
// emitted in pieces instead of being held in memory at once.
const followPage = 1000

// Follow emits the lines q selects (by default the last [DefaultLines]),
// then every new matching line as it is written, until ctx is done (it
// then returns ctx.Err()), the store closes (nil) or emit fails (its
// error). q.MaxLines, q.MaxBytes and q.Cursor are ignored; with a Cursor
// Follow would not know the selection's start.
func (s *Store) Follow(ctx context.Context, q Query, emit func(Line) error) error {
	name := ""
	if len(q.Names) == 1 && q.Names[0] != "all" {
		name = q.Names[0]
	}
	updates, cancel := s.Subscribe(name)
	defer cancel()

	q.MaxLines, q.MaxBytes, q.Cursor = followPage, -1, ""
	var c *cursor
	live := q
	live.Lines = -1
	for {
		cq := q
		if c != nil {
			cq = live
		}
		res, last, err := s.query(ctx, cq, c)
		if err != nil {
			return err
		}
		for _, l := range res.Lines {
			if err := emit(l); err != nil {
				return err
			}
		}
		if res.Truncated {
			cc, err := decodeCursor(res.Cursor)
			if err != nil {
				return err
			}
			// The initial "last N" selection continues with its count;
			// once it is done, everything after is wanted.
			c = &cc
			continue
		}
		if last != nil {
			c = &cursor{after: *last, left: -1}
		} else if c != nil {
			c.left = -1
		}
		if c == nil {
			// Nothing existed yet: every later line is new, so follow from
			// Since (or the beginning) without a tail count.
			q = live
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-updates:
			if !ok {
				return nil
			}
		}
	}
}
