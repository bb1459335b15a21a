package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// socketDaemon serves one bridge connection: it answers initialize and
// reports each tool call; a dying one hangs up after calls tool calls,
// leaving them unanswered (a daemon killed mid-call), another answers them
// until the bridge hangs up.
func socketDaemon(t *testing.T, conn net.Conn, calls int, dying bool, got chan<- string) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	for !dying || calls > 0 {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		var h rpcHead
		if err := json.Unmarshal(line, &h); err != nil {
			t.Errorf("daemon got %q: %v", line, err)
			return
		}
		switch {
		case h.Method == "initialize":
			conn.Write([]byte(`{"jsonrpc":"2.0","id":` + string(h.ID) + `,"result":{}}` + "\n"))
		case h.Method == "tools/call":
			got <- h.Params.Name
			calls--
			if !dying {
				conn.Write([]byte(`{"jsonrpc":"2.0","id":` + string(h.ID) + `,"result":{"content":[],"by":"second"}}` + "\n"))
			}
		}
	}
}

// A daemon that dies with calls in flight: the next daemon gets the ones
// that are safe to run twice (process_list); a start is answered with an
// error saying it may have run, and is not sent again.
func TestBridgeResendsOnlyWhatIsSafe(t *testing.T) {
	first, second := make(chan net.Conn, 1), make(chan net.Conn, 1)
	n := 0
	dial := func() (net.Conn, error) {
		a, b := net.Pipe()
		n++
		if n == 1 {
			first <- b
		} else {
			second <- b
		}
		return a, nil
	}
	got := make(chan string, 8)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- runBridge(dial, inR, outW) }()
	go socketDaemon(t, <-first, 2, true, got)
	out := bufio.NewReader(outR)
	write := func(s string) {
		if _, err := inW.Write([]byte(s + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`)
	if line, _ := out.ReadString('\n'); !strings.Contains(line, `"id":1`) {
		t.Fatalf("initialize answer: %q", line)
	}
	write(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"process_list","arguments":{}}}`)
	write(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"process_start","arguments":{"script":"x"}}}`)
	for range 2 {
		<-got // the first daemon took both, then died
	}
	go func() { socketDaemon(t, <-second, 0, false, got) }()
	answers := map[string]string{}
	for len(answers) < 2 {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		var h struct {
			ID json.RawMessage `json:"id"`
		}
		json.Unmarshal([]byte(line), &h)
		answers[string(h.ID)] = line
	}
	if !strings.Contains(answers["2"], `"by":"second"`) {
		t.Errorf("process_list was not sent again to the next daemon: %s", answers["2"])
	}
	if !strings.Contains(answers["3"], "may or may not have run") {
		t.Errorf("process_start must be answered with an error, not run twice: %s", answers["3"])
	}
	select {
	case name := <-got:
		if name != "process_list" {
			t.Errorf("the next daemon got %s", name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the next daemon got nothing")
	}
	select {
	case name := <-got:
		t.Errorf("the next daemon also got %s", name)
	case <-time.After(100 * time.Millisecond):
	}
	inW.Close()
	<-done
}
