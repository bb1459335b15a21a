//go:build unix

// Package keeper holds file descriptors for the daemon so that they outlive
// it: the read ends of every child's stdout and stderr pipes, the daemon's
// end of a Node child's IPC channel, the listening sockets of clusters. A
// keeper is a tiny process of its own (s6's fdholder, systemd's fd store:
// the part that must not die does almost nothing). While the daemon is gone
// — killed, or re-executing itself for an upgrade — a child's output waits in
// its pipe (which stays open: no EPIPE, no lost line) and a cluster's
// connections wait in its socket's backlog; the next daemon takes the
// descriptors back and reads on where the last one stopped.
//
// The protocol, over a unix stream socket (mode 0600): one JSON request per
// line, descriptors attached with SCM_RIGHTS, one JSON answer per line with
// the descriptors asked for attached.
//
// A pipe put with spool set is drained while no owner holds the keeper: the
// session that said "own" (the daemon) ends, and the keeper reads each such
// pipe into a spool file of its own, so that no child blocks on a full pipe
// (64 KiB) however long the gap. "take" stops that draining at once and
// hands over, for each key, the pipe and — when something was spooled — the
// spool, to be read first: one byte stream, in order, each byte once.
package keeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// request is one line from a client.
type request struct {
	Op     string   `json:"op"`               // put, get, take, del, list, own, ping, quit
	Keys   []string `json:"keys,omitempty"`   // put: one per attached fd
	Prefix string   `json:"prefix,omitempty"` // get, take, del, list
	Spool  bool     `json:"spool,omitempty"`  // put: pipes to drain while no owner holds them
}

// answer is one line back.
type answer struct {
	OK    bool     `json:"ok"`
	Error string   `json:"error,omitempty"`
	Keys  []string `json:"keys,omitempty"` // get, take: one per attached fd, in order; list
	PID   int      `json:"pid,omitempty"`  // ping
}

// SpoolSuffix marks, in a take's answer, the spool of a key: "p1/out" is
// the pipe, "p1/out"+SpoolSuffix what was read from it while no owner held it.
const SpoolSuffix = "#spool"

// maxFDs bounds the descriptors of one message, as the kernel does
// (SCM_MAX_FD is 253).
const maxFDs = 250

// Keeper is the descriptor store, served on a unix socket.
type Keeper struct {
	log      *slog.Logger
	spoolDir string

	mu     sync.Mutex
	fds    map[string]*os.File
	spool  map[string]*drain // the keys put with spool, and their draining
	owners int               // sessions that said "own" and are still open
	idle   chan struct{}     // closed and renewed whenever owners or fds change
}

// New returns an empty Keeper that spools into spoolDir (made on first
// use); with spoolDir "" it never drains pipes.
func New(log *slog.Logger, spoolDir string) *Keeper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Keeper{log: log, spoolDir: spoolDir, fds: map[string]*os.File{}, spool: map[string]*drain{}, idle: make(chan struct{})}
}

// changedLocked wakes whoever watches the keeper's load (see Idle).
func (k *Keeper) changedLocked() {
	close(k.idle)
	k.idle = make(chan struct{})
}

// Idle reports whether the keeper holds nothing and no owner is connected,
// and returns a channel closed at the next change.
func (k *Keeper) Idle() (bool, <-chan struct{}) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.fds) == 0 && k.owners == 0, k.idle
}

// Serve answers clients on ln until ctx ends or a client asks it to quit.
// It closes ln and every descriptor it holds when it returns.
func (k *Keeper) Serve(ctx context.Context, ln *net.UnixListener) error {
	ctx, quit := context.WithCancel(ctx)
	defer quit()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		k.mu.Lock()
		for key := range k.fds {
			k.dropLocked(key)
		}
		k.mu.Unlock()
	}()
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			k.log.Warn("keeper accept", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			if k.session(ctx, c) {
				quit()
			}
		}()
	}
}

// session answers one client's requests; it reports whether it asked the
// keeper to quit.
func (k *Keeper) session(ctx context.Context, c *net.UnixConn) (quit bool) {
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	r := &msgReader{c: c}
	owner := false
	defer func() {
		if owner {
			k.disown()
		}
	}()
	for {
		line, files, err := r.next()
		if err != nil {
			closeFiles(files)
			return false
		}
		var req request
		if err := json.Unmarshal(line, &req); err != nil {
			closeFiles(files)
			_ = writeMsg(c, answer{Error: "bad request: " + err.Error()}, nil)
			continue
		}
		if req.Op == "own" && !owner {
			owner = true
			k.mu.Lock()
			k.owners++
			k.changedLocked()
			k.mu.Unlock()
		}
		ans, out := k.do(req, files)
		if err := writeMsg(c, ans, out); err != nil {
			return false
		}
		closeFiles(out) // sent: the client has its own copies
		if req.Op == "quit" {
			return true
		}
	}
}

// do carries out one request. The files it returns are sent with the
// answer, then closed.
func (k *Keeper) do(req request, files []*os.File) (answer, []*os.File) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch req.Op {
	case "ping", "own":
		closeFiles(files)
		return answer{OK: true, PID: os.Getpid()}, nil
	case "put":
		if len(req.Keys) != len(files) {
			closeFiles(files)
			return answer{Error: fmt.Sprintf("put: %d keys for %d descriptors", len(req.Keys), len(files))}, nil
		}
		if req.Spool && k.spoolDir == "" {
			closeFiles(files)
			return answer{Error: "put: this keeper has no spool folder"}, nil
		}
		for i, key := range req.Keys {
			if strings.Contains(key, SpoolSuffix) {
				closeFiles(files)
				return answer{Error: fmt.Sprintf("put %s: a key cannot contain %q", key, SpoolSuffix)}, nil
			}
			if req.Spool {
				f, err := pollable(files[i])
				if err != nil {
					closeFiles(files)
					return answer{Error: fmt.Sprintf("put %s: %v", key, err)}, nil
				}
				files[i] = f
			}
		}
		for i, key := range req.Keys {
			k.dropLocked(key)
			k.fds[key] = files[i]
			if req.Spool {
				d := &drain{path: filepath.Join(k.spoolDir, spoolName(key))}
				k.spool[key] = d
				if k.owners == 0 {
					d.start(files[i], k.log)
				}
			}
		}
		k.changedLocked()
		return answer{OK: true}, nil
	case "take":
		closeFiles(files)
		keys := k.matching(req.Prefix)
		var outKeys []string
		var out []*os.File
		for _, key := range keys {
			dup, err := dupFile(k.fds[key])
			if err != nil {
				closeFiles(out)
				return answer{Error: fmt.Sprintf("take %s: %v", key, err)}, nil
			}
			outKeys, out = append(outKeys, key), append(out, dup)
			d := k.spool[key]
			if d == nil {
				continue
			}
			sp, err := d.take()
			if err != nil {
				closeFiles(out)
				return answer{Error: fmt.Sprintf("take %s: %v", key, err)}, nil
			}
			if sp != nil {
				outKeys, out = append(outKeys, key+SpoolSuffix), append(out, sp)
			}
		}
		if len(out) > maxFDs {
			closeFiles(out)
			return answer{Error: fmt.Sprintf("take: %d descriptors match %q, more than one message carries (%d)", len(out), req.Prefix, maxFDs)}, nil
		}
		return answer{OK: true, Keys: outKeys}, out
	case "get", "list":
		closeFiles(files)
		keys := k.matching(req.Prefix)
		if req.Op == "list" {
			return answer{OK: true, Keys: keys}, nil
		}
		if len(keys) > maxFDs {
			return answer{Error: fmt.Sprintf("get: %d descriptors match %q, more than one message carries (%d)", len(keys), req.Prefix, maxFDs)}, nil
		}
		var out []*os.File
		for _, key := range keys {
			dup, err := dupFile(k.fds[key])
			if err != nil {
				closeFiles(out)
				return answer{Error: fmt.Sprintf("get %s: %v", key, err)}, nil
			}
			out = append(out, dup)
		}
		return answer{OK: true, Keys: keys}, out
	case "del":
		closeFiles(files)
		for _, key := range k.matching(req.Prefix) {
			k.dropLocked(key)
		}
		k.changedLocked()
		return answer{OK: true}, nil
	case "quit":
		// Let go of everything before answering: once told, the caller may
		// count on it.
		closeFiles(files)
		for key := range k.fds {
			k.dropLocked(key)
		}
		k.changedLocked()
		return answer{OK: true}, nil
	}
	closeFiles(files)
	return answer{Error: fmt.Sprintf("unknown op %q", req.Op)}, nil
}

// dropLocked forgets key: its drain stops, its spool goes, its descriptor
// closes. The caller holds k.mu.
func (k *Keeper) dropLocked(key string) {
	if d := k.spool[key]; d != nil {
		d.stop()
		os.Remove(d.path)
		delete(k.spool, key)
	}
	if f := k.fds[key]; f != nil {
		f.Close()
		delete(k.fds, key)
	}
}

// disown ends one owner's hold: once no owner is left, every spooled pipe
// is drained until the next take.
func (k *Keeper) disown() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.owners--
	if k.owners == 0 {
		for key, d := range k.spool {
			d.start(k.fds[key], k.log)
		}
	}
	k.changedLocked()
}

// matching lists the keys with prefix, sorted. The caller holds k.mu.
func (k *Keeper) matching(prefix string) []string {
	var keys []string
	for key := range k.fds {
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	return keys
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

func dupCloexec(fd int) (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0) }

// dupFile is a second descriptor for f's open file, close-on-exec.
func dupFile(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var derr error
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = dupCloexec(int(fd))
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	return os.NewFile(uintptr(nfd), f.Name()), nil
}

// msgReader reads newline-separated messages and the descriptors that came
// with their bytes.
type msgReader struct {
	c     *net.UnixConn
	buf   []byte
	files []*os.File
}

func (r *msgReader) next() ([]byte, []*os.File, error) {
	data := make([]byte, 64<<10)
	oob := make([]byte, syscall.CmsgSpace(4*maxFDs))
	for {
		if i := strings.IndexByte(string(r.buf), '\n'); i >= 0 {
			line := append([]byte(nil), r.buf[:i]...)
			r.buf = r.buf[i+1:]
			files := r.files
			r.files = nil
			return line, files, nil
		}
		if len(r.buf) > 1<<20 {
			return nil, r.files, errors.New("message too long")
		}
		n, oobn, _, _, err := r.c.ReadMsgUnix(data, oob)
		n, oobn = max(n, 0), max(oobn, 0) // -1 with an error on a closed socket
		if oobn > 0 {
			r.files = append(r.files, parseRights(oob[:oobn])...)
		}
		r.buf = append(r.buf, data[:n]...)
		if err != nil {
			return nil, r.files, err
		}
		if n == 0 && oobn == 0 {
			return nil, r.files, errors.New("closed")
		}
	}
}

// parseRights turns SCM_RIGHTS control messages into files.
func parseRights(oob []byte) []*os.File {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var out []*os.File
	for _, m := range msgs {
		fds, err := syscall.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			syscall.CloseOnExec(fd)
			out = append(out, os.NewFile(uintptr(fd), "kept"))
		}
	}
	return out
}

// writeMsg sends v as one JSON line with files attached to its bytes.
func writeMsg(c *net.UnixConn, v any, files []*os.File) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fd, err := rawFD(f) // not f.Fd(): see rawFD
			if err != nil {
				return err
			}
			fds[i] = fd
		}
		oob = syscall.UnixRights(fds...)
	}
	n, _, err := c.WriteMsgUnix(b, oob, nil)
	if err != nil {
		return err
	}
	if n < len(b) { // the descriptors went with the first part
		_, err = c.Write(b[n:])
	}
	return err
}

// Client talks to a keeper.
type Client struct {
	mu sync.Mutex
	c  *net.UnixConn
	r  *msgReader
}

// Dial connects to the keeper on socket path.
func Dial(path string) (*Client, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("keeper %s: %w", path, err)
	}
	return &Client{c: c, r: &msgReader{c: c}}, nil
}

// Close ends the session (the keeper keeps what it holds).
func (cl *Client) Close() error { return cl.c.Close() }

func (cl *Client) call(req request, files []*os.File) (answer, []*os.File, error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if err := writeMsg(cl.c, req, files); err != nil {
		return answer{}, nil, fmt.Errorf("keeper %s: %w", req.Op, err)
	}
	line, got, err := cl.r.next()
	if err != nil {
		closeFiles(got)
		return answer{}, nil, fmt.Errorf("keeper %s: %w", req.Op, err)
	}
	var ans answer
	if err := json.Unmarshal(line, &ans); err != nil {
		closeFiles(got)
		return answer{}, nil, fmt.Errorf("keeper %s: %w", req.Op, err)
	}
	if !ans.OK {
		closeFiles(got)
		return ans, nil, fmt.Errorf("keeper %s: %s", req.Op, ans.Error)
	}
	return ans, got, nil
}

// Ping returns the keeper's pid.
func (cl *Client) Ping() (int, error) {
	ans, _, err := cl.call(request{Op: "ping"}, nil)
	return ans.PID, err
}

// Put hands the keeper a copy of each file under its key (the caller keeps
// and closes its own); a key already held is replaced.
func (cl *Client) Put(files map[string]*os.File) error {
	keys := make([]string, 0, len(files))
	for key := range files {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for len(keys) > 0 {
		n := min(len(keys), maxFDs)
		batch := make([]*os.File, n)
		for i, key := range keys[:n] {
			batch[i] = files[key]
		}
		if _, _, err := cl.call(request{Op: "put", Keys: keys[:n]}, batch); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// Get returns copies of the files held under keys with prefix.
func (cl *Client) Get(prefix string) (map[string]*os.File, error) {
	ans, files, err := cl.call(request{Op: "get", Prefix: prefix}, nil)
	if err != nil {
		return nil, err
	}
	if len(files) != len(ans.Keys) {
		closeFiles(files)
		return nil, fmt.Errorf("keeper get: %d descriptors for %d keys", len(files), len(ans.Keys))
	}
	out := make(map[string]*os.File, len(files))
	for i, key := range ans.Keys {
		out[key] = files[i]
	}
	return out, nil
}

// List returns the keys held with prefix.
func (cl *Client) List(prefix string) ([]string, error) {
	ans, _, err := cl.call(request{Op: "list", Prefix: prefix}, nil)
	return ans.Keys, err
}

// Delete drops (and closes) what the keeper holds under keys with prefix.
func (cl *Client) Delete(prefix string) error {
	_, _, err := cl.call(request{Op: "del", Prefix: prefix}, nil)
	return err
}

// Own makes this session the keeper's owner: while it is open, pipes put
// with spool are left for the owner to read; once it closes (the daemon
// died or re-executed itself) the keeper drains them.
func (cl *Client) Own() (int, error) {
	ans, _, err := cl.call(request{Op: "own"}, nil)
	return ans.PID, err
}

// PutSpooled is [Client.Put] for pipes the keeper drains into spool files
// while no owner holds it.
func (cl *Client) PutSpooled(files map[string]*os.File) error {
	keys := make([]string, 0, len(files))
	for key := range files {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	batch := make([]*os.File, len(keys))
	for i, key := range keys {
		batch[i] = files[key]
	}
	_, _, err := cl.call(request{Op: "put", Keys: keys, Spool: true}, batch)
	return err
}

// Taken is one key handed over by [Client.Take]: the descriptor and, for a
// spooled pipe that was drained, the spool (read it first, then the pipe).
type Taken struct {
	File  *os.File
	Spool *os.File
}

// Take stops the draining of the keys with prefix and returns copies of
// their descriptors with what was spooled. The keeper keeps holding them
// (and the spool starts afresh at the next gap).
func (cl *Client) Take(prefix string) (map[string]Taken, error) {
	ans, files, err := cl.call(request{Op: "take", Prefix: prefix}, nil)
	if err != nil {
		return nil, err
	}
	if len(files) != len(ans.Keys) {
		closeFiles(files)
		return nil, fmt.Errorf("keeper take: %d descriptors for %d keys", len(files), len(ans.Keys))
	}
	out := map[string]Taken{}
	for i, key := range ans.Keys {
		if k, ok := strings.CutSuffix(key, SpoolSuffix); ok {
			t := out[k]
			t.Spool = files[i]
			out[k] = t
			continue
		}
		t := out[key]
		t.File = files[i]
		out[key] = t
	}
	return out, nil
}

// Quit stops the keeper, closing everything it holds.
func (cl *Client) Quit() error {
	_, _, err := cl.call(request{Op: "quit"}, nil)
	return err
}

// Run serves ln (see [Keeper.Serve]) until ctx ends, a client says quit,
// the socket file at path is gone (its VELOS_HOME removed: no daemon can
// reach the keeper any more), or the keeper has been idle — holding
// nothing, no owner connected — for idle.
func (k *Keeper) Run(ctx context.Context, ln *net.UnixListener, path string, idle time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			isIdle, changed := k.Idle()
			var idleFor <-chan time.Time
			if isIdle {
				t := time.NewTimer(idle)
				defer t.Stop()
				idleFor = t.C
			}
			select {
			case <-ctx.Done():
				return
			case <-idleFor:
				k.log.Info("keeper idle; exiting")
				cancel()
				return
			case <-changed:
			case <-tick.C:
				if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
					k.log.Warn("keeper socket removed; exiting", "socket", path)
					cancel()
					return
				}
			}
		}
	}()
	return k.Serve(ctx, ln)
}
