// Command insight measures the smart log engine (core/insight) on one core:
// classification, dedupe, pattern mining and anomaly bookkeeping over a
// generated log of -n lines (default 1,000,000, about 100 MB), and the
// per-line templates of a file (`velos logs --file --patterns --per-line`,
// two passes, max RSS), and prints tables. Run: go run ./bench/insight
// [-n 1000000] [-baseline path/to/other/velos]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/velos-pm/velos/core/insight"
)

func main() {
	n := flag.Int("n", 1_000_000, "lines to generate")
	velos := flag.String("velos", "", "velos binary for the per-line run (default: built from this checkout)")
	baseline := flag.String("baseline", "", "another velos binary to run the per-line bench with, for comparison")
	flag.Parse()
	runtime.GOMAXPROCS(1)

	// First, while this process is small: a child's max RSS counts the
	// parent's resident pages at the fork.
	if err := perLineBench(*n, *velos, *baseline); err != nil {
		fmt.Fprintln(os.Stderr, "per-line bench:", err)
		os.Exit(1)
	}

	lines, size := generate(*n)
	runtime.GC()

	a := insight.NewAnalyzer(insight.Options{Source: "bench"})
	start, cpu0 := time.Now(), cpuTime()
	for _, l := range lines {
		a.Add(l)
	}
	a.Flush()
	ingest, cpu := time.Since(start), cpuTime()-cpu0

	start = time.Now()
	d := a.Digest()
	digest := time.Since(start)

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "lines\tMB\twall\tcpu\tns/line(cpu)\tlines/s(cpu)\tMB/s(cpu)\tdigest\tpatterns\trows\terrors\twarnings\tanomalies\t\n")
	per := cpu
	if per == 0 {
		per = ingest
	}
	fmt.Fprintf(w, "%d\t%.1f\t%s\t%s\t%.0f\t%.0f\t%.1f\t%s\t%d\t%d\t%d\t%d\t%d\t\n",
		len(lines), float64(size)/1e6, ingest.Round(time.Millisecond), cpu.Round(time.Millisecond),
		float64(per.Nanoseconds())/float64(len(lines)), float64(len(lines))/per.Seconds(),
		float64(size)/1e6/per.Seconds(), digest.Round(time.Microsecond),
		len(a.Patterns(0)), len(a.Rows(0)), d.Errors, d.Warnings, len(d.Anomalies))
	w.Flush()
	fmt.Printf("GOMAXPROCS=1, heap in use after run (includes the %0.f MB input): %.1f MB\n", float64(size)/1e6, float64(ms.HeapInuse)/1e6)

	texts := make([]string, len(lines))
	for i, l := range lines {
		texts[i] = l.Text
	}
	lines = nil
	cpuLM, groups := lineMinerBench(texts)
	fmt.Printf("\ninsight.LineMiner, both passes in memory: %d lines, %d patterns, %s cpu, %.0f lines/s\n",
		len(texts), groups, cpuLM.Round(time.Millisecond), float64(len(texts))/cpuLM.Seconds())
}

// generate builds n lines in shapes real services print (access log, pino
// JSON, logback, slog text, Python logging, nginx notices, a Node stack
// trace now and then) with variable ids, IPs and durations.
func generate(n int) ([]insight.Line, int) {
	ls := make([]insight.Line, 0, n)
	t := time.Date(2024, 1, 2, 10, 0, 0, 0, time.UTC)
	size := 0
	add := func(stream, s string) {
		ls = append(ls, insight.Line{Time: t, Stream: stream, Text: s})
		size += len(s) + 1
	}
	for i := 0; len(ls) < n; i++ {
		t = t.Add(3 * time.Millisecond)
		switch i % 10 {
		case 0, 1, 2, 3:
			add("out", fmt.Sprintf(`10.1.%d.%d - - [02/Jan/2024:10:05:03 +0000] "GET /api/v1/items/%d HTTP/1.1" 200 %d "-" "curl/8.4"`, i%256, i%200, i, 100+i%5000))
		case 4, 5:
			add("out", fmt.Sprintf(`{"level":30,"time":%d,"pid":4242,"hostname":"web-1","reqId":"req-%x","msg":"request completed","ms":%d}`, 1700000000000+i, i, i%300))
		case 6:
			add("err", fmt.Sprintf(`2024-01-02 10:05:03.%03d [worker-%d] WARN  c.a.cache.Loader - cache miss for key user:%d after %dms`, i%1000, i%8, i, i%90))
		case 7:
			add("out", fmt.Sprintf(`time=2024-01-02T10:05:03Z level=INFO msg="job finished" job=%d took=%dms queue=default`, i, i%999))
		case 8:
			add("err", fmt.Sprintf(`ERROR:app.db:connection to 10.0.0.%d:5432 refused (attempt %d of 5), retrying in %ds`, i%20, i%5, i%30))
		case 9:
			if i%1000 == 9 {
				add("err", "Error: connect ECONNREFUSED 127.0.0.1:6379")
				add("err", "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)")
				add("err", "    at RedisClient.connect (/app/src/cache.js:88:9)")
				continue
			}
			add("out", fmt.Sprintf(`2024/01/02 10:05:03 [notice] %d#0: *%d signal process started user=u%d`, i%64, i, i%50))
		}
	}
	return ls[:n], size
}
