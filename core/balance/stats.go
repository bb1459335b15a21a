package balance

import (
	"math/bits"
	"sync"
	"time"
)

// window keeps one backend's request counts and latencies for the last
// windowSlots seconds, one slot per second, so rate and percentiles describe
// now rather than the whole life of the instance.
//
// Latencies go into log-linear buckets: 8 per power of two from 1 µs, so a
// percentile is within ~6% of the truth (half a bucket) and a slot is a few
// hundred bytes, whatever the traffic.
type window struct {
	mu       sync.Mutex
	since    time.Time // when the backend was first added: a young one's rate is over its age
	requests int64     // since the start
	slots    [windowSlots]slot
}

const (
	windowSlots = 10
	subBuckets  = 8
	minExp      = 10 // 2^10 ns ≈ 1 µs: below it, bucket 0
	maxExp      = 37 // 2^37 ns ≈ 137 s: above it, the last bucket
	latBuckets  = (maxExp-minExp)*subBuckets + 2
)

type slot struct {
	sec      int64
	requests int64
	lat      [latBuckets]uint32
}

func (w *window) slotLocked(now time.Time) *slot {
	sec := now.Unix()
	s := &w.slots[sec%windowSlots]
	if s.sec != sec {
		*s = slot{sec: sec}
	}
	return s
}

// request counts a request head sent to the backend at now.
func (w *window) request(now time.Time) {
	w.mu.Lock()
	w.requests++
	w.slotLocked(now).requests++
	w.mu.Unlock()
}

// latency records the time from a request head to its response's first byte.
func (w *window) latency(now time.Time, d time.Duration) {
	i := bucket(d)
	w.mu.Lock()
	w.slotLocked(now).lat[i]++
	w.mu.Unlock()
}

func bucket(d time.Duration) int {
	ns := uint64(max(d, 0))
	if ns < 1<<minExp {
		return 0
	}
	e := bits.Len64(ns) - 1
	if e >= maxExp {
		return latBuckets - 1
	}
	sub := int(ns>>(e-3)) & (subBuckets - 1)
	return (e-minExp)*subBuckets + sub + 1
}

// bucketMid is the middle of bucket i's range.
func bucketMid(i int) time.Duration {
	switch {
	case i == 0:
		return 1 << (minExp - 1)
	case i == latBuckets-1:
		return 1 << maxExp
	}
	e := (i-1)/subBuckets + minExp
	sub := (i - 1) % subBuckets
	lo := uint64(subBuckets+sub) << (e - 3)
	return time.Duration(lo + 1<<(e-3)/2)
}

// snapshot returns the requests since the start, the rate over the window
// and the 50th and 99th percentile latencies over the window (0 without
// samples).
func (w *window) snapshot(now time.Time) (total int64, rate float64, p50, p99 time.Duration) {
	var lat [latBuckets]uint64
	var n, reqs uint64
	sec := now.Unix()
	w.mu.Lock()
	total = w.requests
	for i := range w.slots {
		s := &w.slots[i]
		if s.sec <= sec-windowSlots || s.sec > sec {
			continue
		}
		reqs += uint64(s.requests)
		for j, c := range s.lat {
			lat[j] += uint64(c)
			n += uint64(c)
		}
	}
	since := w.since
	w.mu.Unlock()

	start := time.Unix(sec-windowSlots+1, 0)
	if since.After(start) {
		start = since
	}
	span := max(now.Sub(start), time.Second)
	rate = float64(reqs) / span.Seconds()
	if n == 0 {
		return total, rate, 0, 0
	}
	return total, rate, quantile(&lat, n, 0.50), quantile(&lat, n, 0.99)
}

func quantile(lat *[latBuckets]uint64, n uint64, q float64) time.Duration {
	rank := uint64(q*float64(n) + 0.5)
	rank = max(rank, 1)
	var c uint64
	for i, v := range lat {
		c += v
		if c >= rank {
			return bucketMid(i)
		}
	}
	return bucketMid(latBuckets - 1)
}
