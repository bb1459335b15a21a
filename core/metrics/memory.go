package metrics

// DefaultMemorySamples is how many consecutive samples above max_memory make
// a restart. One sample is not enough: a GC cycle, a burst of requests or a
// fork briefly doubling the tree's RSS would restart a healthy process.
const DefaultMemorySamples = 3

// MemoryGuard decides when a process must be restarted for exceeding its
// max_memory limit. It is a pure state machine (no clock, no I/O): feed it
// each RSS sample with [MemoryGuard.Observe]. The zero value with a zero Limit
// never fires.
type MemoryGuard struct {
	// Limit in bytes; 0 disables the guard.
	Limit uint64
	// Samples is how many consecutive samples must be strictly above Limit;
	// 0 or less means [DefaultMemorySamples].
	Samples int

	over int
	peak uint64
}

// MemoryVerdict is the guard's answer to one sample.
type MemoryVerdict struct {
	// Restart is true on the sample that completes a run of Samples
	// consecutive samples above Limit.
	Restart bool `json:"restart,omitempty"`
	// RSS is the sample just observed, Peak the highest one of the current run.
	RSS  uint64 `json:"rss"`
	Peak uint64 `json:"peak,omitempty"`
	// Over counts consecutive samples above Limit, this one included.
	Over  int    `json:"over,omitempty"`
	Limit uint64 `json:"limit"`
}

func (g *MemoryGuard) needed() int {
	if g.Samples <= 0 {
		return DefaultMemorySamples
	}
	return g.Samples
}

// Observe records one RSS sample and says whether to restart now. After a
// verdict with Restart set the run starts again from zero, so a process slow
// to stop is not told to restart on every following sample.
func (g *MemoryGuard) Observe(rss uint64) MemoryVerdict {
	v := MemoryVerdict{RSS: rss, Limit: g.Limit}
	if g.Limit == 0 || rss <= g.Limit {
		g.over, g.peak = 0, 0
		return v
	}
	g.over++
	g.peak = max(g.peak, rss)
	v.Over, v.Peak = g.over, g.peak
	if g.over >= g.needed() {
		v.Restart = true
		g.over, g.peak = 0, 0
	}
	return v
}

// Reset forgets the current run, e.g. after the process was restarted for
// another reason.
func (g *MemoryGuard) Reset() { g.over, g.peak = 0, 0 }

// DecideMaxMemory replays samples (oldest first) through a fresh
// [MemoryGuard] and returns the verdict for the last one.
func DecideMaxMemory(limit uint64, consecutive int, samples []uint64) MemoryVerdict {
	g := MemoryGuard{Limit: limit, Samples: consecutive}
	v := MemoryVerdict{Limit: limit}
	for _, rss := range samples {
		v = g.Observe(rss)
	}
	return v
}
