package insight

import (
	"sort"
	"time"
)

// AnomalyKind says what an [Anomaly] is about.
type AnomalyKind string

// Anomaly kinds.
const (
	// KindErrorSpike: errors (and fatals) per minute far above the baseline.
	KindErrorSpike AnomalyKind = "error_spike"
	// KindWarningSpike: warnings per minute far above the baseline.
	KindWarningSpike AnomalyKind = "warning_spike"
	// KindNewError: an error whose pattern was never seen before, after the
	// warm-up.
	KindNewError AnomalyKind = "new_error"
)

// Anomaly is one flagged finding.
type Anomaly struct {
	Kind   AnomalyKind `json:"kind"`
	Source string      `json:"source,omitempty"`
	// Start and End bound the minute window of a spike (End exclusive), or
	// both hold the time of a new error.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Count is the number of events in the window.
	Count int `json:"count"`
	// Baseline is the median events per minute before the window, and
	// Threshold the count above which a minute is a spike.
	Baseline  float64 `json:"baseline"`
	Threshold float64 `json:"threshold"`
	// Patterns are the templates that drove a spike, most frequent first
	// (at most 3), or the new error's template.
	Patterns []PatternCount `json:"patterns,omitempty"`
	// Example is the message of a new error.
	Example string `json:"example,omitempty"`
}

// PatternCount is a template and how many events it had in a window.
type PatternCount struct {
	PatternID int    `json:"pattern_id"`
	Template  string `json:"template"`
	Count     int    `json:"count"`
}

// AnomalyConfig tunes anomaly detection. Zero fields take the defaults.
type AnomalyConfig struct {
	// MinCount is the least number of events in a minute for a spike.
	// Default 10.
	MinCount int
	// History is how many past minutes form the baseline. Default 60.
	History int
	// WarmUp is how many minutes of history are needed before spikes and
	// new errors are flagged. Default 5.
	WarmUp int
	// Sigmas: a minute is a spike when its count exceeds
	// median + max(Sigmas × 1.4826 × MAD, median, 1) … see the package
	// documentation. Default 6.
	Sigmas float64
	// MaxAnomalies caps the anomalies kept (oldest dropped). Default 100.
	MaxAnomalies int
}

func (c AnomalyConfig) withDefaults() AnomalyConfig {
	if c.MinCount <= 0 {
		c.MinCount = 10
	}
	if c.History <= 0 {
		c.History = 60
	}
	if c.WarmUp <= 0 {
		c.WarmUp = 5
	}
	if c.Sigmas <= 0 {
		c.Sigmas = 6
	}
	if c.MaxAnomalies <= 0 {
		c.MaxAnomalies = 100
	}
	return c
}

// rateTracker counts events of one level class per minute and compares
// each closed minute with a median+MAD baseline of the previous minutes.
type rateTracker struct {
	kind  AnomalyKind
	cur   time.Time // start of the current minute; zero before the first event
	count int
	byPat map[*message]int
	// miner names the patterns of a spike.
	miner   *Miner
	history []int // closed minutes, oldest first, at most cfg.History
	scratch []int
	flagged bool // the current minute was already reported (by a peek)
	minutes int  // closed minutes seen in total
}

// observe records the time of any line (so quiet minutes count as zeros),
// and returns a spike anomaly when a minute closed as one.
func (r *rateTracker) advance(t time.Time, cfg *AnomalyConfig, out func(Anomaly)) {
	m := t.Truncate(time.Minute)
	if r.cur.IsZero() {
		r.cur = m
		return
	}
	if !m.After(r.cur) {
		return
	}
	r.close(cfg, out)
	// Quiet minutes in between are zeros; more than History of them say
	// nothing more than History does.
	gap := int(m.Sub(r.cur)/time.Minute) - 1
	for k := 0; k < gap && k < cfg.History; k++ {
		r.push(0, cfg)
	}
	r.cur = m
}

func (r *rateTracker) add(m *message) {
	r.count++
	if r.byPat == nil {
		r.byPat = map[*message]int{}
	}
	r.byPat[m]++
}

func (r *rateTracker) push(n int, cfg *AnomalyConfig) {
	r.minutes++
	if len(r.history) == cfg.History {
		copy(r.history, r.history[1:])
		r.history = r.history[:len(r.history)-1]
	}
	r.history = append(r.history, n)
}

// close ends the current minute: it is judged, then joins the history.
func (r *rateTracker) close(cfg *AnomalyConfig, out func(Anomaly)) {
	if a, ok := r.judge(cfg); ok && !r.flagged {
		out(a)
	}
	r.push(r.count, cfg)
	r.count = 0
	r.flagged = false
	clear(r.byPat)
}

// judge compares the current minute with the baseline.
func (r *rateTracker) judge(cfg *AnomalyConfig) (Anomaly, bool) {
	if r.count < cfg.MinCount || len(r.history) < cfg.WarmUp {
		return Anomaly{}, false
	}
	med, thr := r.threshold(cfg)
	if float64(r.count) <= thr {
		return Anomaly{}, false
	}
	a := Anomaly{Kind: r.kind, Start: r.cur, End: r.cur.Add(time.Minute), Count: r.count, Baseline: med, Threshold: thr}
	a.Patterns = topPatterns(r.miner, r.byPat, 3)
	return a, true
}

// threshold returns the median and the spike threshold
// median + max(Sigmas·1.4826·MAD, median, 1): the MAD term follows noisy
// baselines, the median term asks for at least a doubling, and the 1 keeps
// a flat zero baseline from flagging a handful of events (MinCount guards
// that too).
func (r *rateTracker) threshold(cfg *AnomalyConfig) (float64, float64) {
	r.scratch = append(r.scratch[:0], r.history...)
	med := median(r.scratch)
	for i, v := range r.history {
		d := float64(v) - med
		if d < 0 {
			d = -d
		}
		r.scratch[i] = int(d*2 + 0.5) // doubled to keep halves exact
	}
	mad := median(r.scratch) / 2
	return med, med + max(cfg.Sigmas*1.4826*mad, med, 1)
}

func median(v []int) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Ints(v)
	n := len(v)
	if n%2 == 1 {
		return float64(v[n/2])
	}
	return float64(v[n/2-1]+v[n/2]) / 2
}

// topPatterns sums the counts of messages by pattern (rare: a spike) and
// returns the n largest.
func topPatterns(mn *Miner, m map[*message]int, n int) []PatternCount {
	mn.Groups()
	by := map[*Group]int{}
	for msg, k := range m {
		if msg.g != nil {
			by[msg.g] += k
		}
	}
	out := make([]PatternCount, 0, len(by))
	for g, k := range by {
		out = append(out, PatternCount{PatternID: g.ID, Template: g.Template, Count: k})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].PatternID < out[j].PatternID
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
