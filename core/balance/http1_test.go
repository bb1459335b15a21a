package balance

import (
	"strings"
	"testing"
	"time"
)

// events feeds stream to p in pieces of size chunk and spells the events:
// S start, H head, E end, O opaque (the rest is not followed). For
// responses, methods gives the method each response answers.
func events(p *parser, stream string, chunk int, methods []string) string {
	var out []string
	b := []byte(stream)
	for len(b) > 0 {
		piece := b[:min(chunk, len(b))]
		b = b[len(piece):]
		for len(piece) > 0 {
			n, ev := p.feed(piece)
			piece = piece[n:]
			if ev&evStart != 0 {
				out = append(out, "S")
				if p.response {
					m := ""
					if len(methods) > 0 {
						m = methods[0]
					}
					p.reqHead, p.reqConnect = m == "HEAD", m == "CONNECT"
				}
			}
			if ev&evHead != 0 {
				out = append(out, "H")
			}
			if ev&evEnd != 0 {
				out = append(out, "E")
				if p.response && len(methods) > 0 {
					methods = methods[1:]
				}
			}
			if ev&evOpaque != 0 {
				return strings.Join(append(out, "O"), "")
			}
		}
	}
	return strings.Join(out, "")
}

func TestParserRequests(t *testing.T) {
	for _, tc := range []struct {
		name, stream, want string
		keepAlive          bool
	}{
		{"get", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "SHE", true},
		{"http/1.0 closes", "GET / HTTP/1.0\r\n\r\n", "SHE", false},
		{"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "SHE", true},
		{"connection close", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "SHE", false},
		{"pipelined", "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nHEAD /c HTTP/1.1\r\n\r\n", "SHESHESHE", true},
		{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", "SHE", true},
		{"content-length body", "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello\r\n\r\nxyGET / HTTP/1.1\r\n\r\n", "SHESHE", true},
		{"content-length repeated", "POST / HTTP/1.1\r\ncontent-length: 3, 3\r\n\r\nabc", "SHE", true},
		{"chunked with extension and trailer",
			"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;x=y\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
			"SHESHE", true},
		{"empty line before a request", "\r\nGET / HTTP/1.1\r\n\r\n", "SHE", true},
		{"upgrade", "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello", "SHEO", true},
		{"connect", "CONNECT a:443 HTTP/1.1\r\n\r\n\x16\x03\x01", "SHEO", true},
		{"unknown transfer-encoding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nxx", "SHO", true},
		{"bad content-length", "POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\nxx", "SHO", true},
		{"conflicting content-length", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nxx", "SHO", true},
		{"bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "SHO", true},
		{"not http after all", "GET / SPDY/3\r\n\r\n", "SO", false},
		{"head too long", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", maxHead) + "\r\n\r\n", "SO", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for chunk := 1; chunk <= len(tc.stream); chunk = next(chunk, len(tc.stream)) {
				var p parser
				if got := events(&p, tc.stream, chunk, nil); got != tc.want {
					t.Fatalf("in pieces of %d: events %q, want %q", chunk, got, tc.want)
				}
				if strings.HasSuffix(tc.want, "E") && p.keepAlive != tc.keepAlive {
					t.Fatalf("keepAlive %v, want %v", p.keepAlive, tc.keepAlive)
				}
			}
		})
	}
}

// next walks piece sizes 1, 2, 3 … 16, then a few larger ones, then whole.
func next(chunk, total int) int {
	switch {
	case chunk < 16:
		return chunk + 1
	case chunk < total:
		return min(chunk*3, total)
	}
	return total + 1
}

func TestParserResponses(t *testing.T) {
	for _, tc := range []struct {
		name, stream string
		methods      []string
		want         string
		keepAlive    bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", nil, "SHE", true},
		{"zero length", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", nil, "SHESHE", true},
		{"204 then 200", "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", nil, "SHESHE", true},
		{"304 with length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", nil, "SHESHE", true},
		{"head response has no body", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			[]string{"HEAD", "GET"}, "SHESHE", true},
		{"100 continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", nil, "SHSHE", true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", nil, "SHESHE", true},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nall the rest HTTP/1.1 200 OK\r\n\r\n", nil, "SH", false},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", nil, "SHE", false},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", nil, "SHE", false},
		{"switching protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi", nil, "SHEO", true},
		{"connect established", "HTTP/1.1 200 OK\r\n\r\n\x16\x03\x01", []string{"CONNECT"}, "SHEO", true},
		{"connect refused", "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", []string{"CONNECT"}, "SHE", true},
		{"garbage", "SSH-2.0-OpenSSH\r\n\r\n", nil, "SO", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for chunk := 1; chunk <= len(tc.stream); chunk = next(chunk, len(tc.stream)) {
				p := parser{response: true}
				if got := events(&p, tc.stream, chunk, tc.methods); got != tc.want {
					t.Fatalf("in pieces of %d: events %q, want %q", chunk, got, tc.want)
				}
				if strings.HasSuffix(tc.want, "E") && p.keepAlive != tc.keepAlive {
					t.Fatalf("keepAlive %v, want %v", p.keepAlive, tc.keepAlive)
				}
			}
		})
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"GET / HTTP/1.1\r\n", sniffYes},
		{"POST /a?b=c HTTP/1.0\n", sniffYes},
		{"M-SEARCH * HTTP/1.1\r\n", sniffYes},
		{"G", sniffMore},
		{"GET /long", sniffMore},
		{"GET / HTTP/1", sniffMore},
		{"GET / HTTP/1.1", sniffMore},
		{"GET / HTTP/1.1\r", sniffMore},
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", sniffNo},
		{"PING\r\n", sniffNo},
		{"*1\r\n$4\r\nPING\r\n", sniffNo},
		{"\x16\x03\x01\x02\x00", sniffNo},
		{"get / HTTP/1.1\r\n", sniffNo},
		{"GET  / HTTP/1.1\r\n", sniffNo},
		{"GET / HTTP/1.1 x\r\n", sniffNo},
		{"GET /" + strings.Repeat("a", sniffMax), sniffNo},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.1\r\n", sniffNo},
	} {
		if got := sniff([]byte(tc.in)); got != tc.want {
			t.Errorf("sniff(%.30q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestLatencyBuckets(t *testing.T) {
	// Every duration lands in a bucket whose middle is within 7% of it.
	for d := time.Duration(1 << minExp); d < 100*time.Second; d = d*21/20 + 1 {
		mid := bucketMid(bucket(d))
		if diff := float64(mid-d) / float64(d); diff > 0.07 || diff < -0.07 {
			t.Fatalf("bucket(%v) middle %v: off by %.0f%%", d, mid, diff*100)
		}
	}
	if bucket(0) != 0 || bucket(time.Hour) != latBuckets-1 {
		t.Fatal("out-of-range durations must land in the end buckets")
	}
}
