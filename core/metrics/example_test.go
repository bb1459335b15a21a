package metrics_test

import (
	"context"
	"log"
	"time"

	"github.com/velos-pm/velos/core/metrics"
)

// The daemon's wiring, in short: one Sampler for the daemon's lifetime, fed
// the supervisor's table; max_memory verdicts acted on in OnSample.
func ExampleSampler() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var restart func(key string) // the supervisor's restart, by key
	s := metrics.NewSampler(metrics.Options{
		LogBufferDepth: func() int { return 0 }, // the log store's queue length
		OnSample: func(samples []metrics.Sample) {
			for _, smp := range samples {
				if smp.Memory.Restart {
					log.Printf("%s: %d bytes > max_memory %d for %d samples", smp.Key, smp.Memory.RSS, smp.Memory.Limit, smp.Memory.Over)
					restart(smp.Key)
				}
			}
		},
	})
	targets := func() []metrics.Target {
		// One per managed process, from the supervisor's table.
		return []metrics.Target{{Key: "api:0", PID: 12345, Started: time.Now(), MaxMemory: 512 << 20}}
	}
	go s.Run(ctx, targets)

	// While a client shows live figures (velos monit), sample every second.
	release := s.Watch()
	defer release()

	if smp, ok := s.Latest("api:0"); ok {
		st, _ := s.Stats("api:0", 5*time.Minute)
		slope, _ := s.MemorySlope("api:0", 10*time.Minute)
		log.Printf("cpu %.0f%% rss %d (5 min max %d), growing %.0f B/s", smp.CPUPercent, smp.RSS, st.RSSMax, slope)
	}
}

// source is the daemon's metrics.Source: the supervisor's table joined with
// the sampler's latest samples. Embedding the *Sampler adds the daemon's own
// series (metrics.DaemonSource).
type source struct {
	*metrics.Sampler
}

func (src source) Processes() []metrics.ProcessSample {
	smp, _ := src.Latest("api:0")
	return []metrics.ProcessSample{{
		Name: "api", ID: 0, Instance: 0, PID: smp.PID, Up: smp.Alive, StartTime: smp.Created,
		Restarts: 0, CPUSeconds: smp.CPUSeconds, RSS: smp.RSS, Threads: smp.Threads, FDs: smp.FDs,
	}}
}

func ExampleServe() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // stops the server
	addr, err := metrics.Serve(ctx, ":9615", source{metrics.NewSampler(metrics.Options{})})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("metrics on http://%s/metrics", addr) // 127.0.0.1:9615
}
