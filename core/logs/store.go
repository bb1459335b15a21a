package logs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Defaults for [Options] and [RotateOptions].
const (
	DefaultMaxSize       = 10 << 20 // bytes of a log file before it is rotated
	DefaultKeep          = 5        // rotated files kept per stream, besides the current one
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultErrorInterval = time.Minute // between two reports of one stream's write errors
	// MaxLineBytes is the longest text one record holds. A longer line is
	// split into records of this size, the later ones marked as
	// continuations (see the package documentation).
	MaxLineBytes = 64 << 10
)

// readBufSize is the Attach read buffer. It is larger than the longest
// record text so that a partial line kept for the next read always leaves
// room for at least MaxLineBytes more bytes, and at least as large as a
// Linux pipe buffer so that a short read means "the pipe had no more data".
const readBufSize = 2 * MaxLineBytes

// writeBufSize is the per-file write buffer; it holds whole records only,
// so a reader never sees half a record written by a buffer flush.
const writeBufSize = 2 * MaxLineBytes

// initialBufSize is where both buffers start; they grow to their full size
// only for processes that write fast.
const initialBufSize = 4 << 10

// Options configures a [Store].
type Options struct {
	// Dir holds the log files; it is created if missing.
	Dir string
	// MaxSize is the default size in bytes at which a file is rotated
	// (default [DefaultMaxSize]).
	MaxSize int64
	// Keep is the default number of rotated files kept per stream (default
	// [DefaultKeep]); a negative value keeps none.
	Keep int
	// Gzip compresses rotated files in the background by default.
	Gzip bool
	// Now stamps lines; nil means time.Now. Tests inject a clock.
	Now func() time.Time
	// Classify gives a line's level for [Query.Levels] when the query has
	// no Classify of its own; nil means [DefaultClassify].
	Classify func(Line) string
	// FlushInterval bounds how long written lines may stay in memory while
	// a pipe keeps the reader busy (default [DefaultFlushInterval]).
	FlushInterval time.Duration
	// OnError receives write and compression errors, which cannot be
	// returned to anyone because the app must never be blocked by them.
	// nil drops them. Write errors come as [*WriteError], at most one per
	// stream and ErrorInterval (see there). OnError is called with the
	// stream's lock held: it must not call into the Store.
	OnError func(error)
	// ErrorInterval is the least time between two reports of write errors
	// of one stream (default [DefaultErrorInterval]).
	ErrorInterval time.Duration
}

// WriteError reports that lines of one stream could not be written (a full
// disk, an I/O error). They are dropped, so that the app never blocks: the
// file keeps whole records only, and writing resumes by itself once the
// cause is gone. [Options.OnError] receives one when a stream starts
// failing, then at most one per [Options.ErrorInterval] while it goes on
// failing, and a last one with Resumed set once a write works again.
type WriteError struct {
	Name   string    `json:"name"`
	Stream Stream    `json:"stream"`
	Err    error     `json:"-"` // the latest failure
	Since  time.Time `json:"since"`
	// Dropped counts the records (lines) lost since Since.
	Dropped int64 `json:"dropped"`
	// Resumed: writing works again; Dropped is the whole run's count.
	Resumed bool `json:"resumed,omitempty"`
}

func (e *WriteError) Error() string {
	since := e.Since.UTC().Format(time.RFC3339)
	if e.Resumed {
		return fmt.Sprintf("%s-%s log written again: %d lines dropped since %s (%v)", e.Name, e.Stream, e.Dropped, since, e.Err)
	}
	return fmt.Sprintf("write %s-%s log: %v (%d lines dropped since %s)", e.Name, e.Stream, e.Err, e.Dropped, since)
}

func (e *WriteError) Unwrap() error { return e.Err }

// RotateOptions overrides the rotation defaults for one process. A zero
// MaxSize or Keep takes the [Options] value; Gzip is used as given.
type RotateOptions struct {
	MaxSize int64
	Keep    int
	Gzip    bool
}

// Store writes and queries the logs of all processes in one directory. It is
// safe for concurrent use. Create it with [Open] and end it with
// [Store.Close].
type Store struct {
	opts Options
	now  func() time.Time

	// filesMu serialises changes to the set of files (rotation renames,
	// pruning, the end of a compression, Flush, Remove) with the listing
	// and opening done by queries, so a query never misses a file that is
	// being renamed. Lock order: sink.mu, then filesMu.
	filesMu sync.Mutex

	mu       sync.Mutex
	closed   bool
	sinks    map[srcKey]*sink
	attached map[*attachment]struct{}
	// idleFailing keeps the write errors of streams whose sink closed while
	// failing, so that a process restarting on a full disk is still
	// reported once per interval and WriteErrors still shows it.
	idleFailing map[srcKey]failState
	wg          sync.WaitGroup // attach goroutines and the compressor

	comp compressor
	subs subscribers
	bufs buffers
}

// Open prepares a store in opts.Dir, creating the directory if needed. It
// starts no goroutine: writers start with [Store.Attach].
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("open log store: no directory")
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.Keep == 0 {
		opts.Keep = DefaultKeep
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.ErrorInterval <= 0 {
		opts.ErrorInterval = DefaultErrorInterval
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("open log store: %w", err)
	}
	s := &Store{opts: opts, now: opts.Now, sinks: map[srcKey]*sink{}, attached: map[*attachment]struct{}{}, idleFailing: map[srcKey]failState{}}
	if s.now == nil {
		s.now = time.Now
	}
	s.comp.store = s
	s.subs.init()
	return s, nil
}

func (s *Store) onError(err error) {
	if s.opts.OnError != nil && err != nil {
		s.opts.OnError(err)
	}
}

// ErrClosed is returned by operations on a closed [Store].
var ErrClosed = errors.New("log store closed")

// ErrAttached is returned by [Store.Remove] while a pipe is still attached.
var ErrAttached = errors.New("logs still attached")

// attachment is one running Attach: its reader, so Close can interrupt it.
type attachment struct{ r io.Reader }

// Attach reads r (a child's stdout or stderr pipe) until EOF or error and
// appends every line, stamped on arrival, to the stream's file of name
// (which may be "api" or "api-2" for a cluster instance). It returns at once;
// the returned channel is closed once everything read from r has been
// written to the file (no fsync). perProcess overrides the rotation defaults
// for this name and stream; nil means the [Options] defaults.
//
// Lines are never blocked on anything but the file write: the app only ever
// waits for the pipe's own buffer. Write errors go to [Options.OnError] and
// the lines concerned are dropped, so a full disk does not stop the app.
// An invalid name or a closed store is reported to OnError; r is then
// drained (invalid name) or left alone (closed store).
func (s *Store) Attach(name string, stream Stream, r io.Reader, perProcess *RotateOptions) <-chan struct{} {
	done := make(chan struct{})
	if stream != Out && stream != Err {
		stream = Out
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.onError(fmt.Errorf("attach %s-%s: %w", name, stream, ErrClosed))
		close(done)
		return done
	}
	a := &attachment{r: r}
	s.attached[a] = struct{}{}
	s.wg.Add(1)
	var sk *sink
	err := checkName(name)
	if err == nil {
		sk, err = s.sinkLocked(srcKey{name, stream})
	}
	if sk != nil {
		sk.mu.Lock()
		sk.attaches++
		sk.ro = s.resolve(perProcess)
		sk.mu.Unlock()
	}
	s.mu.Unlock()
	if err != nil {
		s.onError(fmt.Errorf("attach %s-%s: %w", name, stream, err))
	}
	go s.run(a, sk, done)
	return done
}

func (s *Store) resolve(ro *RotateOptions) RotateOptions {
	out := RotateOptions{MaxSize: s.opts.MaxSize, Keep: s.opts.Keep, Gzip: s.opts.Gzip}
	if ro != nil {
		if ro.MaxSize > 0 {
			out.MaxSize = ro.MaxSize
		}
		if ro.Keep != 0 {
			out.Keep = ro.Keep
		}
		out.Gzip = ro.Gzip
	}
	return out
}

// run is the body of one Attach goroutine.
func (s *Store) run(a *attachment, sk *sink, done chan struct{}) {
	defer func() {
		s.mu.Lock()
		delete(s.attached, a)
		if sk != nil {
			sk.mu.Lock()
			sk.attaches--
			if sk.attaches == 0 && !sk.closed && s.sinks[sk.key] == sk {
				// Nothing writes to this stream any more: close its file. A
				// daemon that has run many processes (say one name per CI
				// job) held a descriptor and a buffer for each, for ever. The
				// next Attach opens the file again and finds its state there.
				sk.writeBuf()
				sk.closeLocked()
				delete(s.sinks, sk.key)
				if sk.failing != nil {
					s.idleFailing[sk.key] = failState{sk.failing, sk.reported}
				}
			}
			sk.mu.Unlock()
		}
		s.mu.Unlock()
		close(done)
		s.wg.Done()
	}()
	if sk == nil {
		_, _ = io.Copy(io.Discard, a.r)
		return
	}
	// A pipe the runtime polls (a child's stdout or stderr) is read only
	// once it has data, into a pooled buffer given back whenever no partial
	// line is left in it: an idle process holds no buffer. Other readers
	// block in Read and keep theirs. The buffer starts small — most
	// processes print little, and a daemon with 100 of them must stay
	// lean — and doubles up to readBufSize whenever a read fills it.
	var rc syscall.RawConn
	if sc, ok := a.r.(syscall.Conn); ok && pollable {
		if c, err := sc.SyscallConn(); err == nil {
			rc = c
		}
	}
	size := initialBufSize
	var pb *pooled // holds buf, nil while the reader holds none
	var buf []byte
	end := 0
	cont := false // a piece of the current (long) line is already written
	defer func() {
		if pb != nil {
			s.bufs.put(pb)
		}
	}()
	for {
		if pb == nil {
			pb = s.bufs.get(size)
			buf = pb.b
		}
		if end == len(buf) && len(buf) < readBufSize {
			size = min(2*len(buf), readBufSize)
			np := s.bufs.get(size)
			copy(np.b, buf[:end])
			s.bufs.put(pb)
			pb, buf = np, np.b
		}
		var n int
		var err error
		if rc != nil {
			n, err = s.readReady(rc, &pb, end, size)
			if pb != nil {
				buf = pb.b
			}
		} else {
			n, err = a.r.Read(buf[end:])
		}
		drained := err != nil || end+n < len(buf) // a short read: nothing more was ready
		end += n
		if n > 0 || err != nil {
			used := sk.write(buf[:end], &cont, err != nil, drained)
			end = copy(buf, buf[used:end])
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, os.ErrClosed) {
				s.onError(fmt.Errorf("read %s-%s: %w", sk.key.name, sk.key.stream, err))
			}
			return
		}
	}
}

// sinkLocked returns the writer of one file, opening it on first use.
// s.mu is held.
func (s *Store) sinkLocked(k srcKey) (*sink, error) {
	if sk := s.sinks[k]; sk != nil {
		return sk, nil
	}
	sk := &sink{store: s, key: k, ro: s.resolve(nil), wsize: initialBufSize}
	if st, ok := s.idleFailing[k]; ok {
		sk.failing, sk.reported = st.err, st.reported
		delete(s.idleFailing, k)
	}
	s.filesMu.Lock()
	err := sk.open()
	s.filesMu.Unlock()
	if err != nil {
		return nil, err
	}
	s.sinks[k] = sk
	return sk, nil
}

// sink writes one stream of one process. All its fields are guarded by mu.
type sink struct {
	store *Store
	key   srcKey
	ro    RotateOptions

	mu       sync.Mutex
	f        *os.File
	buf      []byte  // whole records not yet written to f; nil when empty
	pb       *pooled // the pooled buffer buf is in, nil with it
	wsize    int     // the capacity buf is taken with: doubled when it fills up
	size     int64   // bytes in f plus len(buf)
	last     int64   // the latest stamp, to keep stamps strictly increasing
	arrival  int64   // the clock read for the current read of the pipe; 0 = not yet
	nextSeq  int64
	st       stamper
	timer    *time.Timer
	armed    bool
	closed   bool
	attaches int
	failing  *WriteError // lines are being dropped; nil while writes work
	reported time.Time   // when failing was last reported
}

// failState is a failing stream's error while no sink is open for it.
type failState struct {
	err      *WriteError
	reported time.Time
}

// open opens the current file for appending and recovers the state a
// previous run left: the last stamp (stamps keep increasing across
// restarts), the next rotation number and a missing final newline (a torn
// record from a crash is closed so it cannot swallow the next one).
// filesMu is held.
func (sk *sink) open() error {
	dir := sk.store.opts.Dir
	path := currentPath(dir, sk.key.name, sk.key.stream)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	size, last, torn, err := tailState(path)
	if err != nil {
		f.Close()
		return err
	}
	if torn {
		if _, err := f.Write([]byte{'\n'}); err != nil {
			f.Close()
			return fmt.Errorf("repair log %s: %w", path, err)
		}
		// The closed record may carry the latest stamp: read the state again.
		if size, last, _, err = tailState(path); err != nil {
			f.Close()
			return err
		}
	}
	sk.f, sk.size, sk.last = f, size, last
	files, err := listDir(dir)
	if err != nil {
		f.Close()
		return err
	}
	sk.nextSeq = 1
	for _, e := range files[sk.key] {
		if e.seq != seqCurrent && e.seq >= sk.nextSeq {
			sk.nextSeq = e.seq + 1
		}
	}
	// The newest rotated file may hold a later stamp than an empty current file.
	fs := files[sk.key]
	for i := len(fs) - 1; i >= 0 && sk.last == 0; i-- {
		if fs[i].seq == seqCurrent {
			continue
		}
		if lf, err := openLogFile(fs[i]); err == nil {
			if _, l, ok := lf.bounds(); ok {
				sk.last = l
			}
			lf.close()
		}
	}
	return nil
}

// tailState reads the size and the last stamp of a file and whether its
// last record lacks a newline.
func tailState(path string) (size, last int64, torn bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false, fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, false, fmt.Errorf("stat log: %w", err)
	}
	size = fi.Size()
	if size == 0 {
		return 0, 0, false, nil
	}
	var b [1]byte
	if _, err := f.ReadAt(b[:], size-1); err != nil {
		return 0, 0, false, fmt.Errorf("read log %s: %w", path, err)
	}
	torn = b[0] != '\n'
	lf := &logFile{ra: f, size: size}
	if _, l, ok := lf.bounds(); ok {
		last = l
	}
	return size, last, torn, nil
}

// write appends the complete lines of b (and, when final, a last line
// without newline) and returns how many bytes of b it consumed. The rest is
// a partial line the caller keeps for the next read. It takes the lock once
// per read, not per line.
//
// All records of one read share its arrival time (one clock call per read,
// not per line): stamps then only grow by 1 ns per record to stay unique.
func (sk *sink) write(b []byte, cont *bool, final, flush bool) int {
	sk.mu.Lock()
	sk.arrival = 0
	start := 0
	for {
		i := bytes.IndexByte(b[start:], '\n')
		if i < 0 {
			break
		}
		line := b[start : start+i]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1] // "\r\n" ends a line like "\n"
		}
		sk.line(line, *cont)
		*cont = false
		start += i + 1
	}
	rest := b[start:]
	for len(rest) > MaxLineBytes {
		sk.record(rest[:MaxLineBytes], *cont)
		*cont = true
		rest = rest[MaxLineBytes:]
	}
	if final && len(rest) > 0 {
		sk.record(rest, *cont) // the last line without a newline is kept
		*cont = false
		rest = rest[len(rest):]
	}
	wrote := false
	if flush {
		wrote = sk.flushLocked()
	} else if len(sk.buf) > 0 && !sk.armed && !sk.closed {
		sk.armed = true
		if sk.timer == nil {
			sk.timer = time.AfterFunc(sk.store.opts.FlushInterval, sk.timedFlush)
		} else {
			sk.timer.Reset(sk.store.opts.FlushInterval)
		}
	}
	sk.mu.Unlock()
	if wrote {
		sk.store.subs.notify(sk.key.name)
	}
	return len(b) - len(rest)
}

func (sk *sink) timedFlush() {
	sk.mu.Lock()
	sk.armed = false
	wrote := false
	if !sk.closed {
		wrote = sk.flushLocked()
	}
	sk.mu.Unlock()
	if wrote {
		sk.store.subs.notify(sk.key.name)
	}
}

// line writes one complete line, split into records of at most
// MaxLineBytes.
func (sk *sink) line(text []byte, cont bool) {
	for len(text) > MaxLineBytes {
		sk.record(text[:MaxLineBytes], cont)
		cont = true
		text = text[MaxLineBytes:]
	}
	sk.record(text, cont)
}

// record stamps and buffers one record, rotating first if it would not fit.
func (sk *sink) record(text []byte, cont bool) {
	n := int64(len(text) + recordOverhead)
	if sk.size > 0 && sk.size+n > sk.ro.MaxSize {
		sk.rotate()
	}
	if sk.buf != nil && len(sk.buf)+int(n) > cap(sk.buf) {
		c := cap(sk.buf)
		sk.writeBuf()
		if c < writeBufSize { // a busy writer earns a bigger buffer
			sk.wsize = min(writeBufSize, max(2*c, int(n)))
		}
	}
	if sk.buf == nil {
		sk.pb = sk.store.bufs.get(max(sk.wsize, int(n)))
		sk.buf = sk.pb.b[:0]
	}
	if sk.arrival == 0 {
		sk.arrival = sk.store.now().UnixNano()
	}
	ts := sk.arrival
	if ts <= sk.last {
		ts = sk.last + 1 // strictly increasing: a stamp is a position in the file
	}
	sk.last = ts
	sk.buf = sk.st.append(sk.buf, ts)
	sep := byte(sepLine)
	if cont {
		sep = sepCont
	}
	sk.buf = append(sk.buf, sep)
	sk.buf = append(sk.buf, text...)
	sk.buf = append(sk.buf, '\n')
	sk.size += n
}

// flushLocked writes the buffer and reports whether anything was written.
func (sk *sink) flushLocked() bool {
	if len(sk.buf) == 0 {
		return false
	}
	sk.writeBuf()
	return true
}

// writeBuf writes the buffered records. On a failure they are dropped (the
// app must not wait for a disk), the part of a record a short write left in
// the file is cut off so that the next record does not run into it, and the
// failure is reported (see [WriteError]). A file that could not be opened
// (a rotation on a full disk) is opened again on the next write.
func (sk *sink) writeBuf() {
	defer sk.releaseBuf() // written or dropped: the buffer goes back to the pool
	if len(sk.buf) == 0 {
		return
	} // written or dropped: the buffer goes back to the pool
	if sk.f == nil {
		if err := sk.reopen(); err != nil {
			sk.failed(err, sk.buf)
			return
		}
	}
	n, err := sk.f.Write(sk.buf)
	if err == nil {
		if sk.failing != nil {
			e := *sk.failing
			e.Resumed = true
			sk.failing = nil
			sk.store.onError(&e)
		}
		return
	}
	whole := bytes.LastIndexByte(sk.buf[:n], '\n') + 1
	if fi, serr := sk.f.Stat(); serr == nil {
		size := fi.Size()
		if whole < n {
			if terr := sk.f.Truncate(size - int64(n-whole)); terr == nil {
				size -= int64(n - whole)
			} else {
				err = errors.Join(err, fmt.Errorf("cut the torn record: %w", terr))
			}
		}
		sk.size = size
	}
	sk.failed(err, sk.buf[whole:])
}

// reopen opens the current file again after it could not be.
func (sk *sink) reopen() error {
	path := currentPath(sk.store.opts.Dir, sk.key.name, sk.key.stream)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log: %w", err)
	}
	sk.f, sk.size = f, fi.Size()+int64(len(sk.buf))
	return nil
}

// failed counts the records of lost as dropped and reports the failure:
// at once when the stream starts failing, then once per ErrorInterval.
func (sk *sink) failed(err error, lost []byte) {
	now := sk.store.now()
	dropped := int64(bytes.Count(lost, []byte{'\n'}))
	if sk.failing == nil {
		sk.failing = &WriteError{Name: sk.key.name, Stream: sk.key.stream, Since: now}
	} else if now.Sub(sk.reported) < sk.store.opts.ErrorInterval {
		sk.failing.Err = err
		sk.failing.Dropped += dropped
		return
	}
	sk.failing.Err = err
	sk.failing.Dropped += dropped
	sk.reported = now
	e := *sk.failing
	sk.store.onError(&e)
}

// closeLocked ends the sink: its file closed, its timer stopped. The
// buffer must be written first. sk.mu is held.
func (sk *sink) closeLocked() {
	sk.closed = true
	if sk.timer != nil {
		sk.timer.Stop()
	}
	if sk.f != nil {
		if err := sk.f.Close(); err != nil {
			sk.store.onError(fmt.Errorf("close %s-%s log: %w", sk.key.name, sk.key.stream, err))
		}
		sk.f = nil
	}
}

// WriteErrors returns the streams of name whose lines cannot be written at
// the moment (empty when every write works).
func (s *Store) WriteErrors(name string) []WriteError {
	s.mu.Lock()
	var sks []*sink
	for k, sk := range s.sinks {
		if k.name == name {
			sks = append(sks, sk)
		}
	}
	var out []WriteError
	for k, st := range s.idleFailing {
		if k.name == name {
			out = append(out, *st.err)
		}
	}
	s.mu.Unlock()
	for _, sk := range sks {
		sk.mu.Lock()
		if sk.failing != nil {
			out = append(out, *sk.failing)
		}
		sk.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Stream < out[j].Stream })
	return out
}

// releaseBuf gives the (written or dropped) buffer back to the pool.
func (sk *sink) releaseBuf() {
	if sk.pb != nil {
		sk.pb.b = sk.buf[:cap(sk.buf)]
		sk.store.bufs.put(sk.pb)
		sk.buf, sk.pb = nil, nil
	}
}

// rotate closes the current file, renames it to the next number and opens
// a new one. It runs on the writer's goroutine between two records, so no
// line is split across files, lost or written twice.
func (sk *sink) rotate() {
	sk.writeBuf()
	if sk.f == nil {
		if err := sk.reopen(); err != nil {
			// Nothing to rotate: records go on being buffered, and dropped
			// by writeBuf until the file opens again.
			sk.size = 0
			sk.failed(err, nil)
			return
		}
	}
	s := sk.store
	dir := s.opts.Dir
	cur := currentPath(dir, sk.key.name, sk.key.stream)
	if err := sk.f.Close(); err != nil {
		s.onError(fmt.Errorf("close %s: %w", cur, err))
	}
	sk.f = nil
	s.filesMu.Lock()
	seq := sk.nextSeq
	sk.nextSeq++
	rot := rotatedPath(dir, sk.key.name, sk.key.stream, seq)
	renamed := true
	if err := os.Rename(cur, rot); err != nil {
		renamed = false
		s.onError(fmt.Errorf("rotate %s: %w", cur, err))
	}
	f, err := os.OpenFile(cur, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		sk.size = 0
		sk.failed(fmt.Errorf("rotate %s: %w", cur, err), nil)
	} else {
		sk.f = f
		sk.size = 0
		if fi, err := f.Stat(); err == nil {
			sk.size = fi.Size()
		}
	}
	sk.pruneLocked()
	s.filesMu.Unlock()
	if renamed && sk.ro.Gzip {
		s.comp.enqueue(sk.key)
	}
}

// pruneLocked deletes the oldest rotated files beyond Keep. filesMu is held.
func (sk *sink) pruneLocked() {
	keep := sk.ro.Keep
	if keep < 0 {
		keep = 0
	}
	s := sk.store
	files, err := listDirAll(s.opts.Dir, sk.key)
	if err != nil {
		s.onError(err)
		return
	}
	var seqs []int64
	for seq := range files {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] > seqs[j] })
	for i, seq := range seqs {
		if i < keep {
			continue
		}
		for _, p := range files[seq] {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				s.onError(fmt.Errorf("prune log: %w", err))
			}
		}
	}
}

// listDirAll returns every path (plain, gz, tmp) of each rotated file of k.
func listDirAll(dir string, k srcKey) (map[int64][]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list logs: %w", err)
	}
	out := map[int64][]string{}
	for _, de := range des {
		e, ok := parseFileName(de.Name())
		if !ok || e.name != k.name || e.stream != k.stream || e.seq == seqCurrent {
			continue
		}
		out[e.seq] = append(out[e.seq], dir+string(os.PathSeparator)+de.Name())
	}
	return out, nil
}

// flushSinks writes the buffers of the named processes (all when names is
// nil) so that a query sees every line stamped before it started.
func (s *Store) flushSinks(names map[string]bool) {
	s.mu.Lock()
	var sks []*sink
	for k, sk := range s.sinks {
		if names == nil || names[k.name] {
			sks = append(sks, sk)
		}
	}
	s.mu.Unlock()
	for _, sk := range sks {
		sk.mu.Lock()
		if !sk.closed {
			sk.flushLocked()
		}
		sk.mu.Unlock()
	}
}

// closeReadGrace is how long Close lets an attached pipe that supports
// deadlines deliver the data already in it.
const closeReadGrace = 100 * time.Millisecond

// Close stops the store: it ends the Attach goroutines whose readers support
// read deadlines (os.File pipes) after a short grace, waits for every Attach
// goroutine to finish (a reader without deadlines is read to EOF, so stop
// the children first), writes every buffered line, closes the files and
// waits for a compression in progress. Rotated files still waiting to be
// compressed stay uncompressed and readable; the next rotation of their
// stream compresses them. Close is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	deadline := time.Now().Add(closeReadGrace)
	for a := range s.attached {
		if d, ok := a.r.(interface{ SetReadDeadline(time.Time) error }); ok {
			_ = d.SetReadDeadline(deadline)
		}
	}
	s.mu.Unlock()
	s.comp.stop()
	s.wg.Wait()
	var errs []error
	s.mu.Lock()
	for _, sk := range s.sinks {
		sk.mu.Lock()
		sk.writeBuf()
		sk.closed = true
		if sk.timer != nil {
			sk.timer.Stop()
		}
		if sk.f != nil {
			if err := sk.f.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s-%s log: %w", sk.key.name, sk.key.stream, err))
			}
			sk.f = nil
		}
		sk.mu.Unlock()
	}
	s.sinks = map[srcKey]*sink{}
	s.mu.Unlock()
	s.subs.closeAll()
	return errors.Join(errs...)
}

// Flush empties the logs of name, or of every process when name is "": the
// current files are truncated and the rotated ones deleted (`velos flush`).
// Lines still buffered are dropped with them. Attached pipes keep writing
// into the emptied files.
func (s *Store) Flush(name string) error {
	return s.clear(name, false)
}

// Remove deletes every log file of name (for a deleted process). It fails
// with [ErrAttached] while a pipe of name is still attached.
func (s *Store) Remove(name string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("remove logs: %w", err)
	}
	return s.clear(name, true)
}

func (s *Store) clear(name string, remove bool) error {
	if name != "" {
		if err := checkName(name); err != nil {
			return fmt.Errorf("flush logs: %w", err)
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	var sks []*sink
	for k, sk := range s.sinks {
		if name == "" || k.name == name {
			sks = append(sks, sk)
		}
	}
	if remove {
		for _, sk := range sks {
			sk.mu.Lock()
			busy := sk.attaches > 0
			sk.mu.Unlock()
			if busy {
				s.mu.Unlock()
				return fmt.Errorf("remove logs of %s: %w", name, ErrAttached)
			}
		}
		for _, sk := range sks {
			delete(s.sinks, sk.key)
		}
		for k := range s.idleFailing {
			if k.name == name {
				delete(s.idleFailing, k)
			}
		}
	}
	s.mu.Unlock()

	var errs []error
	for _, sk := range sks {
		sk.mu.Lock()
		sk.releaseBuf()
		if remove {
			sk.closed = true
			if sk.timer != nil {
				sk.timer.Stop()
			}
			if sk.f != nil {
				sk.f.Close()
				sk.f = nil
			}
		} else if sk.f != nil {
			if err := sk.f.Truncate(0); err != nil {
				errs = append(errs, fmt.Errorf("flush %s-%s log: %w", sk.key.name, sk.key.stream, err))
			}
			sk.size = 0
		}
		sk.mu.Unlock()
	}

	s.filesMu.Lock()
	defer s.filesMu.Unlock()
	des, err := os.ReadDir(s.opts.Dir)
	if err != nil {
		return fmt.Errorf("flush logs: %w", err)
	}
	for _, de := range des {
		e, ok := parseFileName(de.Name())
		if !ok || (name != "" && e.name != name) {
			continue
		}
		p := s.opts.Dir + string(os.PathSeparator) + de.Name()
		if e.seq == seqCurrent && !remove {
			if err := os.Truncate(p, 0); err != nil {
				errs = append(errs, fmt.Errorf("flush logs: %w", err))
			}
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("flush logs: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Names returns the names of the processes that have log files, sorted.
func (s *Store) Names() ([]string, error) {
	s.filesMu.Lock()
	files, err := listDir(s.opts.Dir)
	s.filesMu.Unlock()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for k := range files {
		if !seen[k.name] {
			seen[k.name] = true
			out = append(out, k.name)
		}
	}
	sort.Strings(out)
	return out, nil
}
