package metrics

import "testing"

func TestMemoryGuardDecision(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name     string
		limit    uint64
		n        int
		samples  []uint64
		restart  bool
		over     int
		rss      uint64
		peakWant uint64
	}{
		{name: "disabled", limit: 0, samples: []uint64{900 * mb, 900 * mb, 900 * mb}, rss: 900 * mb},
		{name: "never above", limit: 100 * mb, samples: []uint64{10 * mb, 50 * mb, 99 * mb}, rss: 99 * mb},
		{name: "equal is not above", limit: 100 * mb, samples: []uint64{100 * mb, 100 * mb, 100 * mb}, rss: 100 * mb},
		{name: "two above is not enough", limit: 100 * mb, samples: []uint64{101 * mb, 150 * mb}, over: 2, rss: 150 * mb, peakWant: 150 * mb},
		{name: "three consecutive restart (default N)", limit: 100 * mb, samples: []uint64{101 * mb, 150 * mb, 120 * mb}, restart: true, over: 3, rss: 120 * mb, peakWant: 150 * mb},
		{name: "a dip resets the run", limit: 100 * mb, samples: []uint64{101 * mb, 150 * mb, 90 * mb, 120 * mb, 130 * mb}, over: 2, rss: 130 * mb, peakWant: 130 * mb},
		{name: "dip then three", limit: 100 * mb, samples: []uint64{101 * mb, 90 * mb, 120 * mb, 130 * mb, 140 * mb}, restart: true, over: 3, rss: 140 * mb, peakWant: 140 * mb},
		{name: "N=1 restarts on first spike", limit: 100 * mb, n: 1, samples: []uint64{50 * mb, 101 * mb}, restart: true, over: 1, rss: 101 * mb, peakWant: 101 * mb},
		{name: "N=5 waits", limit: 100 * mb, n: 5, samples: []uint64{200 * mb, 200 * mb, 200 * mb, 200 * mb}, over: 4, rss: 200 * mb, peakWant: 200 * mb},
		{name: "run restarts from zero after firing", limit: 100 * mb, samples: []uint64{200 * mb, 200 * mb, 200 * mb, 200 * mb}, over: 1, rss: 200 * mb, peakWant: 200 * mb},
		{name: "fires again after another full run", limit: 100 * mb, samples: []uint64{200 * mb, 200 * mb, 200 * mb, 210 * mb, 220 * mb, 205 * mb}, restart: true, over: 3, rss: 205 * mb, peakWant: 220 * mb},
		{name: "no samples", limit: 100 * mb},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := DecideMaxMemory(tt.limit, tt.n, tt.samples)
			want := MemoryVerdict{Restart: tt.restart, Over: tt.over, RSS: tt.rss, Peak: tt.peakWant, Limit: tt.limit}
			if v != want {
				t.Errorf("DecideMaxMemory(%d, %d, %v) = %+v, want %+v", tt.limit, tt.n, tt.samples, v, want)
			}
		})
	}
}

func TestMemoryGuardReset(t *testing.T) {
	g := MemoryGuard{Limit: 10}
	g.Observe(11)
	g.Observe(11)
	g.Reset()
	if v := g.Observe(11); v.Restart || v.Over != 1 {
		t.Fatalf("after Reset: %+v, want a run of 1 and no restart", v)
	}
}
