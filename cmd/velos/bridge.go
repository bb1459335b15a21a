package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tools"
)

// stdioBridge pipes newline-delimited JSON-RPC between an MCP client (stdio) and
// the daemon's socket, and outlives the daemon: when the connection ends
// while the client is still there — velos update re-executed the daemon,
// or it died and the next one adopted its processes — it connects again,
// replays the client's initialize (and initialized) to the new daemon,
// drops that answer, sends again each request the old daemon left
// unanswered that is safe to run twice and answers the others with an
// error saying so, and subscribes again to what the
// client had subscribed to. The client sees one session.
type stdioBridge struct {
	dial func() (net.Conn, error)
	out  io.Writer

	outMu sync.Mutex // one line at a time to out

	mu          sync.Mutex // held while writing to conn and while reconnecting
	conn        net.Conn
	init        []byte            // the client's initialize request
	initialized []byte            // and its notifications/initialized
	pending     map[string][]byte // requests not yet answered, by id
	unsent      [][]byte          // lines no daemon took: sent again after reconnecting
	subs        map[string][]byte // resources/subscribe requests by uri, replayed after reconnecting
	closing     bool              // the client has gone: an EOF is the end
}

// reinitID is the id of the initialize the bridge replays.
const reinitID = `"velos-bridge-reinit"`

// redialFor bounds how long the bridge tries to reach a daemon again.
const redialFor = 30 * time.Second

// errRestarted is the answer to a request a daemon took with it.
var errRestarted = "the velos daemon restarted (velos update, or it died and the next one adopted its processes) before answering: the call may or may not have run; check, then retry"

type rpcHead struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		URI  string `json:"uri"`
		Name string `json:"name"` // tools/call
	} `json:"params"`
}

// safeAgain reports whether a request may be sent again to the next daemon
// when the last one left it unanswered: one that changes nothing, or whose
// second run has no further effect (the registry says which tools those
// are). A start or a restart is never sent twice; its caller is told.
func safeAgain(h rpcHead) bool {
	switch h.Method {
	case "initialize":
		return false // the bridge replays it itself
	case "tools/call":
		for _, e := range tools.All {
			if i := e.Info(); i.Name == h.Params.Name {
				return i.Effect == tool.ReadOnly || i.Idempotent
			}
		}
		return false
	}
	return true // lists, reads, prompts, completions, (un)subscriptions, ping
}

// ownID reports whether a message id is one of the bridge's own requests
// (replayed after reconnecting), whose answers the client never sees.
func ownID(id json.RawMessage) bool { return strings.HasPrefix(string(id), `"velos-bridge-`) }

func runBridge(dial func() (net.Conn, error), in io.Reader, out io.Writer) error {
	conn, err := dial()
	if err != nil {
		return err
	}
	b := &stdioBridge{dial: dial, out: out, conn: conn, pending: map[string][]byte{}, subs: map[string][]byte{}}
	done := make(chan error, 1)
	go func() { done <- b.readLoop(conn) }()
	go func() {
		r := bufio.NewReader(in)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				b.send(line)
			}
			if err != nil {
				break
			}
		}
		b.mu.Lock()
		b.closing = true
		if uc, ok := b.conn.(*net.UnixConn); ok {
			_ = uc.CloseWrite()
		} else {
			b.conn.Close()
		}
		b.mu.Unlock()
	}()
	return <-done
}

// send forwards one line from the client, noting what a reconnection
// needs.
func (b *stdioBridge) send(line []byte) {
	var h rpcHead
	_ = json.Unmarshal(line, &h)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch h.Method {
	case "initialize":
		b.init = line
	case "notifications/initialized":
		b.initialized = line
	case "resources/subscribe":
		b.subs[h.Params.URI] = line
	case "resources/unsubscribe":
		delete(b.subs, h.Params.URI)
	}
	if h.Method != "" && len(h.ID) > 0 {
		b.pending[string(h.ID)] = line
	}
	// A write to a daemon that is gone fails: no daemon saw the line, so it
	// goes to the next one once the read side has reconnected.
	if len(b.unsent) > 0 {
		b.unsent = append(b.unsent, line)
		return
	}
	if _, err := b.conn.Write(line); err != nil {
		b.unsent = append(b.unsent, line)
	}
}

func (b *stdioBridge) deliver(line []byte) {
	var h rpcHead
	if json.Unmarshal(line, &h) == nil && h.Method == "" && len(h.ID) > 0 {
		if ownID(h.ID) {
			return
		}
		b.mu.Lock()
		delete(b.pending, string(h.ID))
		b.mu.Unlock()
	}
	b.outMu.Lock()
	defer b.outMu.Unlock()
	_, _ = b.out.Write(line)
}

// readLoop copies the daemon's lines to the client, reconnecting when the
// daemon goes while the client stays.
func (b *stdioBridge) readLoop(conn net.Conn) error {
	for {
		r := bufio.NewReader(conn)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				b.deliver(line)
			}
			if err != nil {
				break
			}
		}
		conn.Close()
		b.mu.Lock()
		if b.closing {
			b.mu.Unlock()
			return nil
		}
		b.failPending()
		next, err := b.reconnect()
		if err != nil {
			b.mu.Unlock()
			return fmt.Errorf("mcp-server: the daemon went away and none answered again: %w", err)
		}
		b.conn, conn = next, next
		for _, line := range b.unsent {
			_, _ = next.Write(line)
		}
		b.unsent = nil
		b.mu.Unlock()
	}
}

// failPending deals with what the gone daemon took and left unanswered:
// what is safe to run again goes to the next daemon (before the lines no
// daemon took), the rest is answered with an error saying it may have run.
// b.mu is held.
func (b *stdioBridge) failPending() {
	unsent := map[string]bool{}
	for _, line := range b.unsent {
		var h rpcHead
		if json.Unmarshal(line, &h) == nil && len(h.ID) > 0 {
			unsent[string(h.ID)] = true
		}
	}
	var again [][]byte
	for key, line := range b.pending {
		if unsent[key] {
			continue
		}
		var h rpcHead
		_ = json.Unmarshal(line, &h)
		if safeAgain(h) {
			again = append(again, line)
			continue
		}
		msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": h.ID,
			"error": map[string]any{"code": -32603, "message": errRestarted}})
		b.outMu.Lock()
		_, _ = b.out.Write(append(msg, '\n'))
		b.outMu.Unlock()
		delete(b.pending, key)
	}
	b.unsent = append(again, b.unsent...)
}

// reconnect reaches a daemon again and replays the client's handshake.
// b.mu is held: the client's lines wait meanwhile.
func (b *stdioBridge) reconnect() (net.Conn, error) {
	deadline := time.Now().Add(redialFor)
	for {
		conn, err := b.dial()
		if err == nil {
			if err = b.handshake(conn); err == nil {
				return conn, nil
			}
			conn.Close()
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(50 * time.Millisecond) // another process: no event to wait on
	}
}

func (b *stdioBridge) handshake(conn net.Conn) error {
	if b.init == nil {
		return nil // the client had not initialized: nothing to replay
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(b.init, &req); err != nil {
		return err
	}
	req["id"] = json.RawMessage(reinitID)
	msg, _ := json.Marshal(req)
	if _, err := conn.Write(append(msg, '\n')); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(redialFor))
	defer conn.SetReadDeadline(time.Time{})
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return err
		}
		var h rpcHead
		if json.Unmarshal(line, &h) == nil && string(h.ID) == reinitID {
			break
		}
	}
	if r.Buffered() > 0 {
		return errors.New("the new daemon spoke before the session was initialized")
	}
	if b.initialized != nil {
		if _, err := conn.Write(b.initialized); err != nil {
			return err
		}
	}
	// Subscriptions are the session's: the new daemon must know them too.
	// Their answers are dropped (see ownID).
	n := 0
	for _, line := range b.subs {
		var req map[string]json.RawMessage
		if json.Unmarshal(line, &req) != nil {
			continue
		}
		n++
		req["id"] = json.RawMessage(fmt.Sprintf(`"velos-bridge-sub-%d"`, n))
		msg, _ := json.Marshal(req)
		if _, err := conn.Write(append(msg, '\n')); err != nil {
			return err
		}
	}
	return nil
}
