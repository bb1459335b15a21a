package metrics

import (
	"math"
	"testing"
	"time"
	"unsafe"
)

func TestHistoryRingAndStats(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := NewHistory(5)
	for i := range 8 { // wraps: keeps i = 3..7
		h.Add(Point{Time: t0.Add(time.Duration(i) * time.Second), CPU: float64(i * 10), RSS: uint64(i) << 20})
	}
	if h.Len() != 5 {
		t.Fatalf("Len = %d, want 5", h.Len())
	}
	pts := h.Points(time.Time{})
	if len(pts) != 5 || pts[0].CPU != 30 || pts[4].CPU != 70 {
		t.Fatalf("Points = %+v, want CPU 30..70 oldest first", pts)
	}
	st := h.Stats(t0.Add(5 * time.Second)) // i = 5, 6, 7
	want := Stats{N: 3, From: t0.Add(5 * time.Second), To: t0.Add(7 * time.Second),
		CPUMin: 50, CPUAvg: 60, CPUMax: 70, RSSMin: 5 << 20, RSSAvg: 6 << 20, RSSMax: 7 << 20}
	if st != want {
		t.Fatalf("Stats = %+v\nwant    %+v", st, want)
	}
	if st := h.Stats(t0.Add(time.Hour)); st.N != 0 {
		t.Fatalf("empty window: %+v", st)
	}
}

func TestHistoryMemorySlope(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := NewHistory(0)
	if _, ok := h.MemorySlope(time.Time{}); ok {
		t.Fatal("slope of an empty history must not be ok")
	}
	// A leak of 1 MiB every 2 s, with the noise of a GC sawtooth.
	for i := range 60 {
		noise := uint64(0)
		if i%2 == 0 {
			noise = 64 << 10
		}
		h.Add(Point{Time: t0.Add(time.Duration(i) * 2 * time.Second), RSS: 100<<20 + uint64(i)<<20 + noise})
	}
	got, ok := h.MemorySlope(time.Time{})
	want := float64(1<<20) / 2
	if !ok || math.Abs(got-want)/want > 0.01 {
		t.Fatalf("MemorySlope = %.0f B/s (ok=%v), want ≈ %.0f", got, ok, want)
	}
	flat := NewHistory(0)
	for i := range 10 {
		flat.Add(Point{Time: t0.Add(time.Duration(i) * time.Second), RSS: 50 << 20})
	}
	if got, ok := flat.MemorySlope(time.Time{}); !ok || got != 0 {
		t.Fatalf("flat slope = %v (ok=%v), want 0", got, ok)
	}
}

func TestCPUDeltaReapedChildren(t *testing.T) {
	// leader 1 → child 2 → grandchild 3.
	prev := map[int32]member{
		1: {start: 10, ppid: 0, cpu: 1},
		2: {start: 20, ppid: 1, cpu: 2},
		3: {start: 30, ppid: 2, cpu: 5},
	}
	tests := []struct {
		name string
		cur  map[int32]member
		want float64
	}{
		{"all alive, each +1s", map[int32]member{1: {10, 0, 2}, 2: {20, 1, 3}, 3: {30, 2, 6}}, 3},
		// 3 used 1 more second, exited and was reaped by 2: 2's children's CPU
		// grows by 6 (3's total); only the 1 new second is new.
		{"grandchild reaped by child", map[int32]member{1: {10, 0, 1}, 2: {20, 1, 2 + 6}}, 1},
		// 2 reaped 3 (total 6) and then 1 reaped 2 (own 2 + children 6).
		{"child and grandchild reaped up the chain", map[int32]member{1: {10, 0, 1 + 8}}, 1},
		// A new child born and reaped between the passes: all its CPU is new.
		{"short-lived new child", map[int32]member{1: {10, 0, 1 + 0.5}, 2: {20, 1, 2}, 3: {30, 2, 5}}, 0.5},
		{"new process", map[int32]member{1: {10, 0, 1}, 2: {20, 1, 2}, 3: {30, 2, 5}, 4: {40, 1, 0.25}}, 0.25},
		// pid 3 reused by a new process: counted as new, the old one as gone.
		{"pid reuse", map[int32]member{1: {10, 0, 1}, 2: {20, 1, 2 + 5}, 3: {31, 2, 0.5}}, 0.5},
		// 2 exited and went to init (parent 1 did not reap it): its CPU left
		// the tree, and the counter must not go down.
		{"left the tree", map[int32]member{1: {10, 0, 1}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cpuDelta(prev, tt.cur, true); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("cpuDelta = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestHistoryIsCompact: a point is 16 bytes without pointers, and a ring
// takes exactly its capacity once full, not the next power of two.
func TestHistoryIsCompact(t *testing.T) {
	if s := unsafe.Sizeof(point{}); s != 16 {
		t.Fatalf("a history point is %d bytes, want 16", s)
	}
	h := NewHistory(600)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 700 {
		h.Add(Point{Time: t0.Add(time.Duration(i) * time.Second), CPU: 1.5, RSS: 3 << 20})
	}
	if cap(h.buf) != 600 {
		t.Fatalf("a full ring of 600 has capacity %d", cap(h.buf))
	}
	if p := h.Points(time.Time{})[599]; !p.Time.Equal(t0.Add(699*time.Second)) || p.CPU != 1.5 || p.RSS != 3<<20 {
		t.Fatalf("last point %+v", p)
	}
}
