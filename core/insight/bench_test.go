package insight

import (
	"fmt"
	"testing"
	"time"
)

// benchLines builds n lines (~100 bytes each) in the shapes real services
// print: access lines, JSON errors, Java-style warnings, Python logging,
// with variable ids, IPs and durations, and a few stack traces.
func benchLines(n int) []Line {
	ls := make([]Line, 0, n)
	t := t0
	for i := 0; len(ls) < n; i++ {
		t = t.Add(3 * time.Millisecond)
		var s, stream string = "", "out"
		switch i % 10 {
		case 0, 1, 2, 3:
			s = fmt.Sprintf(`10.1.%d.%d - - [02/Jan/2024:10:05:03 +0000] "GET /api/v1/items/%d HTTP/1.1" 200 %d "-" "curl/8.4"`, i%256, i%200, i, 100+i%5000)
		case 4, 5:
			s = fmt.Sprintf(`{"level":30,"time":%d,"pid":4242,"hostname":"web-1","reqId":"req-%x","msg":"request completed","ms":%d}`, 1700000000000+i, i, i%300)
		case 6:
			s = fmt.Sprintf(`2024-01-02 10:05:03.%03d [worker-%d] WARN  c.a.cache.Loader - cache miss for key user:%d after %dms`, i%1000, i%8, i, i%90)
			stream = "err"
		case 7:
			s = fmt.Sprintf(`time=2024-01-02T10:05:03Z level=INFO msg="job finished" job=%d took=%dms queue=default`, i, i%999)
		case 8:
			s = fmt.Sprintf(`ERROR:app.db:connection to 10.0.0.%d:5432 refused (attempt %d of 5), retrying in %ds`, i%20, i%5, i%30)
			stream = "err"
		case 9:
			if i%1000 == 9 {
				ls = append(ls, Line{t, "err", "Error: connect ECONNREFUSED 127.0.0.1:6379"},
					Line{t, "err", "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)"},
					Line{t, "err", "    at RedisClient.connect (/app/src/cache.js:88:9)"})
				continue
			}
			s = fmt.Sprintf(`2024/01/02 10:05:03 [notice] %d#0: *%d signal process started user=%s`, i%64, i, word(i%50))
		}
		ls = append(ls, Line{t, stream, s})
	}
	return ls[:n]
}

func BenchmarkAnalyzer(b *testing.B) {
	ls := benchLines(200000)
	bytes := 0
	for _, l := range ls {
		bytes += len(l.Text) + 1
	}
	b.SetBytes(int64(bytes / len(ls)))
	b.ReportAllocs()
	b.ResetTimer()
	a := NewAnalyzer(Options{Source: "bench"})
	for i := 0; i < b.N; i++ {
		a.Add(ls[i%len(ls)])
	}
	a.Flush()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/line")
}

func BenchmarkMask(b *testing.B) {
	ls := benchLines(10000)
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf, _ = appendMasked(buf[:0], ls[i%len(ls)].Text)
	}
}

func BenchmarkClassify(b *testing.B) {
	ls := benchLines(10000)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		l := ls[i%len(ls)]
		Classify(l.Stream, l.Text, DefaultStderrLevel)
	}
}
