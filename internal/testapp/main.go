// Command testapp is the program the end-to-end tests supervise. Its flags
// make it behave as a test needs: tell systemd-style readiness late or
// never, heartbeat a watchdog for a while, serve HTTP on the socket Velos
// passes (LISTEN_FDS) or on $PORT, answer a health URL after a delay, stop
// gracefully, crash, print numbered lines at a given rate (-chatty).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	readyAfter := flag.Duration("ready-after", -1, "send READY=1 on NOTIFY_SOCKET after this long (-1: never)")
	status := flag.String("status", "", "send STATUS=… on NOTIFY_SOCKET at start")
	beatFor := flag.Duration("beat-for", 0, "send WATCHDOG=1 every WATCHDOG_USEC/3 for this long, then stop")
	serve := flag.String("serve", "", "serve HTTP: fds (the LISTEN_FDS socket) or port ($PORT)")
	listenAfter := flag.Duration("listen-after", 0, "wait this long before listening")
	healthAfter := flag.Duration("health-after", 0, "/health answers 503 until this long after start")
	exitAfter := flag.Duration("exit-after", 0, "exit with -code after this long (0: never)")
	code := flag.Int("code", 0, "exit code for -exit-after")
	chatty := flag.Int("chatty", 0, "print this many numbered lines per second to stdout (\"seq N …\"), from 1")
	lineBytes := flag.Int("line-bytes", 64, "length of each -chatty line, newline excluded")
	flag.Parse()
	start := time.Now()
	if *chatty > 0 {
		go chatter(*chatty, *lineBytes)
	}

	if *status != "" {
		notify("STATUS=" + *status)
	}
	if *readyAfter >= 0 {
		go func() {
			time.Sleep(*readyAfter)
			notify("READY=1")
		}()
	}
	if *beatFor > 0 {
		us, _ := strconv.Atoi(os.Getenv("WATCHDOG_USEC"))
		every := max(time.Duration(us)*time.Microsecond/3, 10*time.Millisecond)
		go func() {
			for time.Since(start) < *beatFor {
				notify("WATCHDOG=1")
				time.Sleep(every)
			}
		}()
	}
	if *exitAfter > 0 {
		go func() {
			time.Sleep(*exitAfter)
			os.Exit(*code)
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *serve == "" {
		<-ctx.Done()
		return
	}
	time.Sleep(*listenAfter)
	ln, err := listener(*serve)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(3)
	}
	var served atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if d, err := time.ParseDuration(r.URL.Query().Get("sleep")); err == nil {
			time.Sleep(d)
		}
		served.Add(1)
		if os.Getenv("TESTAPP_CONNLOG") != "" {
			fmt.Fprintf(os.Stderr, "%s conn %s handled\n", time.Now().Format("15:04:05.000000"), r.RemoteAddr)
		}
		fmt.Fprintf(w, "pid %d\n", os.Getpid())
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if time.Since(start) < *healthAfter {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	// A graceful stop, for a socket other instances share: stop accepting
	// (the socket stays open for them), answer what comes on the open
	// connections — each with Connection: close, so a keep-alive client
	// moves to a live instance instead of having a request cut — and only
	// after a grace period let Shutdown close what is idle. (Shutdown at
	// once would drop a request read after it began, and close a
	// keep-alive connection a request is already on its way on.)
	var stopping atomic.Bool
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stopping.Load() {
			w.Header().Set("Connection", "close")
		}
		mux.ServeHTTP(w, r)
	})}
	shut := make(chan struct{})
	go func() {
		defer close(shut)
		<-ctx.Done()
		stopping.Store(true)
		ln.Close()
		time.Sleep(time.Second)
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Printf("testapp %d serving on %s\n", os.Getpid(), ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(4)
	}
	<-shut // Serve returns as the listener closes; what is in flight is not done yet
	fmt.Printf("testapp %d stopped after %d requests\n", os.Getpid(), served.Load())
}

// listener is the socket to serve: fd 3 as systemd passes it (checking
// LISTEN_PID, as sd_listen_fds does), or a port of our own.
func listener(how string) (net.Listener, error) {
	switch how {
	case "fds":
		if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) || os.Getenv("LISTEN_FDS") == "" {
			return nil, fmt.Errorf("no socket passed (LISTEN_PID=%q LISTEN_FDS=%q)", os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"))
		}
		return net.FileListener(os.NewFile(3, "listen"))
	case "port":
		return net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	}
	return nil, fmt.Errorf("-serve %q: want fds or port", how)
}

// notify sends one sd_notify datagram, as libsystemd's sd_notify does.
func notify(state string) {
	sock := os.Getenv("NOTIFY_SOCKET")
	if sock == "" {
		fmt.Fprintln(os.Stderr, "testapp: no NOTIFY_SOCKET")
		return
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "testapp: notify:", err)
		return
	}
	defer c.Close()
	_, _ = c.Write([]byte(state))
}

// chatter prints rate numbered lines per second in 1 ms ticks, as one
// write per tick: "seq 1 xxxx…". A test reading the log sees gaps and
// repeats in the numbers. A write error (the reader gone) ends the program,
// as SIGPIPE would.
func chatter(rate, size int) {
	pad := strings.Repeat("x", max(size, 16))
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	start := time.Now()
	n := 0
	for now := range t.C {
		due := int(now.Sub(start).Seconds() * float64(rate))
		for ; n < due; n++ {
			line := strconv.AppendInt([]byte("seq "), int64(n+1), 10)
			line = append(line, ' ')
			line = append(line, pad[:max(size-len(line), 0)]...)
			w.Write(append(line, '\n'))
		}
		if err := w.Flush(); err != nil {
			os.Exit(5)
		}
	}
}
