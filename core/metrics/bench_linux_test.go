package metrics

import (
	"strconv"
	"syscall"
	"testing"
	"time"
)

func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSample100 measures one pass over 100 sleeping children. Reported:
// ms/sample (wall), cpu-ms/sample, and the daemon CPU that costs at the 1 s
// watched interval (cpu-ms/sample ÷ 1000 ms).
func BenchmarkSample100(b *testing.B) {
	const n = 100
	targets := make([]Target, 0, n)
	for i := range n {
		cmd := startSleeper(b)
		targets = append(targets, Target{Key: "sleep:" + strconv.Itoa(i), PID: cmd.Process.Pid})
	}
	s := NewSampler(Options{})
	if out, err := s.Sample(b.Context(), targets); err != nil || !out[n-1].Alive {
		b.Fatalf("warm-up pass: %v", err)
	}
	cpu0, wall0 := cpuTime(b), time.Now()
	for b.Loop() {
		if _, err := s.Sample(b.Context(), targets); err != nil {
			b.Fatal(err)
		}
	}
	wall, cpu := time.Since(wall0), cpuTime(b)-cpu0
	perWall := float64(wall.Microseconds()) / 1e3 / float64(b.N)
	perCPU := float64(cpu.Microseconds()) / 1e3 / float64(b.N)
	b.ReportMetric(perWall, "ms/sample")
	b.ReportMetric(perCPU, "cpu-ms/sample")
	b.ReportMetric(perCPU/1000*100, "daemon-cpu-%@1s")
	b.ReportMetric(0, "ns/op") // the wall figure above is the one to read
}
