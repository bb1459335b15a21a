package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

type oneProc struct{}

func (oneProc) Processes() []ProcessSample {
	return []ProcessSample{{Name: "api", ID: 0, PID: 1, Up: true, RSS: 42, FDs: -1}}
}

func TestEndpointServesOnceAndNamesBusyPort(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	e := NewEndpoint(ctx, oneProc{})
	if e.Addr() != "" {
		t.Fatalf("Addr before Serve = %q", e.Addr())
	}
	addr, already, err := e.Serve("127.0.0.1:0")
	if err != nil || already {
		t.Fatalf("Serve: %q %v %v", addr, already, err)
	}
	again, already, err := e.Serve("127.0.0.1:1")
	if err != nil || !already || again != addr || e.Addr() != addr {
		t.Fatalf("second Serve = %q %v %v; want %q already", again, already, err, addr)
	}
	if _, _, err := e.Serve("0.0.0.0:9"); !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("remote address while serving: err = %v, want ErrNotLoopback", err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `velos_process_resident_memory_bytes{id="0",instance="0",name="api"} 42`) {
		t.Errorf("scrape lacks the process:\n%s", body)
	}

	// A port another program holds: a clear error naming it, nothing served.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := NewEndpoint(ctx, oneProc{})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	_, _, err = busy.Serve(ln.Addr().String())
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), "port "+port) {
		t.Fatalf("busy port: err = %v; want ErrPortInUse naming port %s", err, port)
	}
	if busy.Addr() != "" {
		t.Fatalf("busy endpoint Addr = %q", busy.Addr())
	}
}

func TestRefreshMakesAPassNow(t *testing.T) {
	t.Parallel()
	passes := make(chan []Sample, 16)
	s := NewSampler(Options{Interval: time.Hour, OnSample: func(ss []Sample) { passes <- ss }})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	// Without Run, Refresh waits for its context.
	short, cancelShort := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancelShort()
	if err := s.Refresh(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Refresh without Run = %v", err)
	}

	errc := make(chan error, 1)
	go func() {
		errc <- s.Run(ctx, func() []Target { return []Target{{Key: "self", PID: os.Getpid()}} })
	}()
	<-passes // the immediate first pass
	first, _ := s.Latest("self")
	for i := range 2 {
		if err := s.Refresh(ctx); err != nil {
			t.Fatalf("Refresh %d: %v", i, err)
		}
		select {
		case <-passes: // OnSample ran before Refresh returned
		default:
			t.Fatalf("Refresh %d returned before OnSample saw its pass", i)
		}
	}
	if last, _ := s.Latest("self"); !last.Time.After(first.Time) {
		t.Fatalf("Latest not newer after Refresh: %v vs %v", last.Time, first.Time)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
}
