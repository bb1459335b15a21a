package metrics

import (
	"math"
	"time"
)

// DefaultHistoryLen is the number of points kept per process: ten minutes at
// the 1 s watched interval, longer at the idle interval.
const DefaultHistoryLen = 600

// Point is one history entry.
type Point struct {
	Time time.Time `json:"t"`
	// CPU in percent of one core, summed over the process tree.
	CPU float64 `json:"cpu"`
	RSS uint64  `json:"rss"`
}

// History is a fixed-size ring of [Point]s in time order. It is not safe for
// concurrent use; [Sampler] guards its own.
type History struct {
	buf  []point
	max  int // capacity; buf grows to it, so a short-lived process costs little
	next int
	n    int
}

// point is a [Point] as the ring holds it: 16 bytes and no pointer (a Point
// is 40, its time.Time holding a *Location), so a hundred processes' ten
// minutes of history are 1 MB that the collector never scans.
type point struct {
	ns     int64   // Unix nanoseconds
	cpu    float32 // percent of one core
	rssKiB uint32  // resident KiB (4 TiB at most)
}

func pack(p Point) point {
	return point{ns: p.Time.UnixNano(), cpu: float32(p.CPU), rssKiB: uint32(min(p.RSS>>10, math.MaxUint32))}
}

func (p point) unpack() Point {
	return Point{Time: time.Unix(0, p.ns).UTC(), CPU: float64(p.cpu), RSS: uint64(p.rssKiB) << 10}
}

// NewHistory returns a ring holding the last capacity points
// ([DefaultHistoryLen] when capacity <= 0).
func NewHistory(capacity int) *History {
	if capacity <= 0 {
		capacity = DefaultHistoryLen
	}
	return &History{max: capacity}
}

// Add appends p, dropping the oldest point when full. Points are expected in
// time order; queries rely on it.
func (h *History) Add(p Point) {
	if len(h.buf) < h.max {
		if len(h.buf) == cap(h.buf) { // grow by doubling, to exactly max at the end
			nb := make([]point, len(h.buf), min(h.max, max(16, 2*cap(h.buf))))
			copy(nb, h.buf)
			h.buf = nb
		}
		h.buf = append(h.buf, pack(p))
		h.n = len(h.buf)
		h.next = len(h.buf) % h.max
		return
	}
	h.buf[h.next] = pack(p)
	h.next = (h.next + 1) % len(h.buf)
	if h.n < len(h.buf) {
		h.n++
	}
}

// Len is the number of points held.
func (h *History) Len() int { return h.n }

// Points returns a copy of the points at or after since, oldest first. A zero
// since returns everything.
func (h *History) Points(since time.Time) []Point {
	var out []Point
	h.each(since, func(p Point) { out = append(out, p) })
	return out
}

func (h *History) each(since time.Time, fn func(Point)) {
	if h.n == 0 {
		return
	}
	start := (h.next - h.n + len(h.buf)) % len(h.buf)
	from := since.UnixNano()
	if since.IsZero() {
		from = math.MinInt64
	}
	for i := range h.n {
		if p := h.buf[(start+i)%len(h.buf)]; p.ns >= from {
			fn(p.unpack())
		}
	}
}

// Stats summarises a window of history.
type Stats struct {
	// N is the number of points in the window; the other fields are zero when
	// it is 0.
	N      int       `json:"n"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	CPUMin float64   `json:"cpu_min"`
	CPUAvg float64   `json:"cpu_avg"`
	CPUMax float64   `json:"cpu_max"`
	RSSMin uint64    `json:"rss_min"`
	RSSAvg uint64    `json:"rss_avg"`
	RSSMax uint64    `json:"rss_max"`
}

// Stats returns min/avg/max of the points at or after since.
func (h *History) Stats(since time.Time) Stats {
	var s Stats
	var cpuSum, rssSum float64
	h.each(since, func(p Point) {
		if s.N == 0 {
			s.From, s.CPUMin, s.CPUMax, s.RSSMin, s.RSSMax = p.Time, p.CPU, p.CPU, p.RSS, p.RSS
		}
		s.N++
		s.To = p.Time
		s.CPUMin, s.CPUMax = min(s.CPUMin, p.CPU), max(s.CPUMax, p.CPU)
		s.RSSMin, s.RSSMax = min(s.RSSMin, p.RSS), max(s.RSSMax, p.RSS)
		cpuSum += p.CPU
		rssSum += float64(p.RSS)
	})
	if s.N > 0 {
		s.CPUAvg = cpuSum / float64(s.N)
		s.RSSAvg = uint64(rssSum / float64(s.N))
	}
	return s
}

// MemorySlope is the least-squares slope of RSS over the points at or after
// since, in bytes per second: a steadily positive value over minutes is the
// signature of a leak. ok is false with fewer than two points or no time
// spread.
func (h *History) MemorySlope(since time.Time) (bytesPerSecond float64, ok bool) {
	// Times are taken relative to the first point so the sums stay small and
	// float64 keeps its precision.
	var t0 time.Time
	var n, sx, sy, sxx, sxy float64
	h.each(since, func(p Point) {
		if n == 0 {
			t0 = p.Time
		}
		x := p.Time.Sub(t0).Seconds()
		y := float64(p.RSS)
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	})
	den := n*sxx - sx*sx
	if n < 2 || den <= 0 {
		return 0, false
	}
	return (n*sxy - sx*sy) / den, true
}
