package wrk

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"
)

// report is wrk 4.1.0's own output for a keep-alive run during which
// instances were replaced.
const report = `Running 1m test @ http://127.0.0.1:18411/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.13ms    9.69ms 115.59ms   91.20%
    Req/Sec    16.78k    23.98k  101.68k    90.77%
  Latency Distribution
     50%    1.19ms
     75%    5.58ms
     90%   13.27ms
     99%    1.05s
  108890 requests in 6.55s, 13.29MB read
  Socket errors: connect 1, read 243, write 2, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:  16613.76
Transfer/sec:      2.03MB
`

func TestParse(t *testing.T) {
	r, err := Parse(report)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Requests: 108890, Elapsed: 6550 * time.Millisecond, RPS: 16613.76, MiBps: 2.03,
		P50: 1190 * time.Microsecond, P90: 13270 * time.Microsecond, P99: 1050 * time.Millisecond,
		Non2xx: 7, Connect: 1, Read: 243, Write: 2, Timeout: 3}
	if r != want {
		t.Fatalf("Parse:\n got %+v\nwant %+v", r, want)
	}
	if r.SocketErrors() != 249 || r.Failed() != 256 {
		t.Fatalf("SocketErrors %d, Failed %d; want 249, 256", r.SocketErrors(), r.Failed())
	}
	if _, err := Parse("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Fatal("a report without Requests/sec must be an error")
	}
}

// TestStartStop: a run started for a minute ends on Stop with its report,
// which counts the server's 500s as non-2xx.
func TestStartStop(t *testing.T) {
	path, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk is not installed (Debian: apt-get install wrk)")
	}
	for _, c := range []struct {
		name  string
		path  string
		close bool
	}{{"keep-alive", "/?fail", false}, {"close", "/", true}} {
		var n atomic.Int64
		busy := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1000 {
				close(busy)
			}
			if r.URL.Query().Has("fail") {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}))
		run, err := Start(path, Options{URL: srv.URL + c.path, Connections: 4, Duration: time.Minute, Close: c.close})
		if err != nil {
			t.Fatal(err)
		}
		<-busy // the server's own count: the load is on
		r, err := run.Stop()
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if r.Requests < 1000 || r.Elapsed >= time.Minute || r.RPS <= 0 || r.P99 <= 0 {
			t.Errorf("%s: %+v", c.name, r)
		}
		if allFailed := r.Non2xx == r.Requests; allFailed == c.close || r.SocketErrors() != 0 {
			t.Errorf("%s: %d non-2xx of %d, %d socket errors", c.name, r.Non2xx, r.Requests, r.SocketErrors())
		}
	}
}
