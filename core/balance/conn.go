package balance

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// How a connection's bytes are handled, decided by who speaks first and how.
const (
	modeUnknown int32 = iota // nothing seen yet
	modeHTTP                 // the client's first bytes are an HTTP/1.x request line
	modeOpaque               // anything else (or the instance spoke first): splice, count the connection only
)

// maxPending bounds the pipelined requests followed on one connection.
const maxPending = 1024

const (
	smallBuf = 4 << 10  // most HTTP heads and small bodies fit
	largeBuf = 64 << 10 // once a read fills the small one
)

// proxyConn is one client connection. Its goroutine reads the client and
// writes to the current leg; each leg has a goroutine reading the instance
// and writing to the client. An opaque connection has one leg for life; an
// HTTP/1.x one may move to a new leg between requests (drain, or the
// instance closing an idle keep-alive connection).
type proxyConn struct {
	b      *Balancer
	client net.Conn
	mode   atomic.Int32

	clientEOF atomic.Bool // the client sent FIN; the instance got CloseWrite
	serverEOF atomic.Bool // the instance sent FIN; the client got CloseWrite

	mu        sync.Mutex
	leg       *leg // nil between requests once detached
	aborted   bool
	reqOpen   bool         // a request is being forwarded
	finishing bool         // its last bytes are being written (cond is broadcast when done)
	cond      sync.Cond    // on mu
	respOpen  bool         // a response is being forwarded
	opaque    bool         // no longer following requests or responses: no boundary is known
	keepAlive bool         // the last exchange lets the connection carry another
	pending   []pendingReq // requests sent whose final response has not ended, oldest first

	redials int // by the client side: moves after a lost leg
}

type pendingReq struct {
	at              time.Time // when its head was read
	head, connect   bool      // method HEAD / CONNECT: how to read the response
	keepAlive, seen bool      // request allows reuse; first response byte seen
}

// leg is one connection to an instance.
type leg struct {
	be   *backend
	conn net.Conn
	done chan struct{} // closed when its goroutine has ended and the instance is released

	// Under proxyConn.mu.
	drainWanted bool // leave this instance at the next request boundary
	detached    bool // left: its goroutine ends quietly, the client stays
	lost        bool // the instance closed it before a byte passed: dial another
}

// maxRedials bounds how often one connection is moved to another instance
// because the one it had closed before a byte passed: an instance that
// closes every connection at once is then seen by the client.
const maxRedials = 3

var errLost = errors.New("every instance tried closed the connection before a byte passed")

var errDetached = errors.New("leg detached")

func (c *proxyConn) serve() {
	b := c.b
	defer b.wg.Done()
	defer b.forget(c)
	defer c.client.Close()
	l, err := c.dial()
	if err != nil {
		if b.ctx.Err() == nil {
			b.log.Warn("balancer: connection closed", "client", c.client.RemoteAddr().String(), "err", err)
		}
		return
	}
	c.clientEnded(c.fromClient(l))
}

// dial connects to an instance and starts relaying its side.
func (c *proxyConn) dial() (*leg, error) {
	be, conn, err := c.b.connect(c.b.ctx)
	if err != nil {
		return nil, err
	}
	l := &leg{be: be, conn: conn, done: make(chan struct{})}
	c.mu.Lock()
	if c.aborted {
		c.mu.Unlock()
		conn.Close()
		c.b.release(be)
		return nil, net.ErrClosed
	}
	c.leg = l
	// Drain marks the draining flag before it looks at connections, so a leg
	// dialled while it runs is either seen by it or sees the flag here.
	l.drainWanted = be.draining.Load()
	c.b.wg.Add(1)
	c.mu.Unlock()
	go c.fromBackend(l)
	return l, nil
}

// abort closes both sides at once.
func (c *proxyConn) abort() {
	c.mu.Lock()
	c.aborted = true
	l := c.leg
	c.cond.Broadcast()
	c.mu.Unlock()
	c.client.Close()
	if l != nil {
		l.conn.Close()
	}
}

// drain asks the connection to leave be: at once if it is at an HTTP
// request boundary, else when it next reaches one. Opaque connections stay.
func (c *proxyConn) drain(be *backend) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.leg
	if l == nil || l.be != be {
		return
	}
	l.drainWanted = true
	switch {
	case c.boundaryLocked():
		c.detachLocked(l)
	case c.mode.Load() == modeUnknown:
		// Nothing has passed yet (a client's spare connection, say): wake
		// the client side, which moves it to an instance in rotation.
		_ = c.client.SetReadDeadline(time.Now())
	}
}

// boundaryLocked: an HTTP/1.x connection with nothing in flight either way.
func (c *proxyConn) boundaryLocked() bool {
	return c.mode.Load() == modeHTTP && !c.opaque && !c.reqOpen && !c.respOpen && len(c.pending) == 0 && !c.aborted
}

func (c *proxyConn) detachLocked(l *leg) {
	l.detached = true
	if c.leg == l {
		c.leg = nil
	}
	l.conn.Close()
}

// clientEnded finishes after the client side returned (nil: the client
// sent FIN).
func (c *proxyConn) clientEnded(err error) {
	c.mu.Lock()
	l := c.leg
	c.mu.Unlock()
	if err != nil {
		if !errors.Is(err, net.ErrClosed) && c.b.ctx.Err() == nil {
			c.b.log.Debug("balancer: client side", "err", err)
		}
		c.abort()
	} else {
		c.clientEOF.Store(true)
		if l != nil {
			closeWrite(l.conn)
			_ = l.conn.SetReadDeadline(time.Now().Add(c.b.opt.halfCloseTimeout))
		}
	}
	if l != nil {
		<-l.done
	}
}

// fromClient relays client → instance until the client ends (nil) or fails.
func (c *proxyConn) fromClient(l *leg) error {
	r := c.b.newReadBuf()
	defer r.release()
	n := 0
	var err error
	var sniffBy time.Time // once a partial request line came: when to stop waiting for the rest
	// Tell HTTP/1.x from anything else by the client's first bytes. An
	// instance that speaks first settles it too (see relayBackend).
	mode := c.mode.Load()
	for mode == modeUnknown {
		if l, err = c.moveIfDrained(l); err != nil {
			return err
		}
		if n == len(r.buf) {
			if r.large {
				mode = c.settle(modeOpaque)
				break
			}
			r.grow(n)
		}
		var k int
		k, err = c.client.Read(r.buf[n:])
		n += k
		switch {
		case errors.Is(err, io.EOF):
			if n == 0 {
				return nil
			}
			mode, err = c.settle(modeOpaque), nil
		case isTimeout(err) && (sniffBy.IsZero() || time.Now().Before(sniffBy)):
			// Woken by drain: go round to move, keeping what was read.
			err = nil
			_ = c.client.SetReadDeadline(sniffBy)
			mode = c.mode.Load()
		case isTimeout(err): // a partial line and then silence: not HTTP
			mode, err = c.settle(modeOpaque), nil
		case err != nil:
			if n == 0 {
				return err
			}
			mode = c.settle(modeOpaque)
		default:
			switch sniff(r.buf[:n]) {
			case sniffYes:
				mode = c.settle(modeHTTP)
			case sniffNo:
				mode = c.settle(modeOpaque)
			default:
				if sniffBy.IsZero() {
					sniffBy = time.Now().Add(c.b.opt.sniffTimeout)
					_ = c.client.SetReadDeadline(sniffBy)
				}
				mode = c.mode.Load()
			}
		}
	}
	// The leg may have been lost between the client's bytes and settle;
	// with the mode settled, no leg is lost that way any more.
	l, merr := c.move(l, false)
	if merr != nil {
		return merr
	}
	// Mode is settled, so drain no longer touches the deadline: drop the
	// ones above, keeping the half-close one if the instance has ended.
	if c.serverEOF.Load() {
		_ = c.client.SetReadDeadline(time.Now().Add(c.b.opt.halfCloseTimeout))
	} else {
		_ = c.client.SetReadDeadline(time.Time{})
	}
	if mode == modeHTTP {
		return c.fromClientHTTP(r, r.buf[:n], err, n == len(r.buf))
	}
	if n > 0 {
		if _, werr := l.conn.Write(r.buf[:n]); werr != nil {
			return werr
		}
	}
	if err != nil {
		return err
	}
	r.release() // splice needs no buffer
	return c.pump(l.conn, c.client, &c.serverEOF)
}

// settle sets the connection's mode unless it is set already, and returns
// the mode in force. Changes of mode and drain's look at it hold c.mu.
func (c *proxyConn) settle(m int32) int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mode.Load() == modeUnknown {
		c.mode.Store(m)
	}
	return c.mode.Load()
}

// moveIfDrained moves a connection on which no byte has passed either way
// to an instance in rotation when its instance is draining or has closed it.
func (c *proxyConn) moveIfDrained(l *leg) (*leg, error) {
	return c.move(l, true)
}

// move replaces l if it was lost (before a byte passed), or, with drained,
// if its instance is draining and still no byte has passed.
func (c *proxyConn) move(l *leg, drained bool) (*leg, error) {
	c.mu.Lock()
	if c.leg != l || !l.lost && !(drained && l.drainWanted && c.mode.Load() == modeUnknown) {
		c.mu.Unlock()
		return l, nil
	}
	if l.lost {
		if c.redials++; c.redials > maxRedials {
			c.mu.Unlock()
			return nil, errLost
		}
	}
	c.detachLocked(l)
	c.mu.Unlock()
	return c.dial()
}

// fromClientHTTP relays requests, noting where each starts and ends. As in
// responses, a message goes out in one write, after its head is noted and
// before its end is.
func (c *proxyConn) fromClientHTTP(r *readBuf, data []byte, readErr error, last bool) error {
	var p parser
	var l *leg
	now := time.Now()
	for {
		pos, from := 0, 0 // parsed up to pos; written up to from
		for pos < len(data) || readErr == nil && p.longBody() {
			var ev int
			if pos == len(data) {
				// The rest of a long body: splice it, then step the parser past it.
				if p.state == stBody {
					c.setFinishing(true)
				}
				err := writeSpan(l.conn, data, &from, pos)
				if err == nil {
					err = spliceBody(l.conn, c.client, &p)
				}
				if err != nil {
					c.setFinishing(false)
					return err
				}
				_, ev = p.feed(nil)
			} else {
				var k int
				k, ev = p.feed(data[pos:])
				if ev&evStart != 0 {
					var err error
					if l, err = c.beginRequest(); err != nil {
						return err
					}
					continue
				}
				pos += k
				if ev&evHead != 0 {
					if !c.requestHead(l, &p, now, ev&evEnd != 0) {
						p.state = stOpaque // too many in flight to follow
					}
				} else if ev&evEnd != 0 {
					c.setFinishing(true)
				}
				if ev&(evEnd|evOpaque) != 0 || p.state == stOpaque {
					if err := writeSpan(l.conn, data, &from, pos); err != nil {
						c.setFinishing(false)
						return err
					}
				}
			}
			if ev&evEnd != 0 {
				c.requestEnd(l)
			}
			if ev&evOpaque != 0 || p.state == stOpaque {
				c.mu.Lock()
				c.opaque = true
				c.mu.Unlock()
				if err := writeSpan(l.conn, data, &from, len(data)); err != nil {
					return err
				}
				if readErr != nil {
					return eofIsNil(readErr)
				}
				r.release()
				return c.pump(l.conn, c.client, &c.serverEOF)
			}
		}
		if err := writeSpan(l.conn, data, &from, pos); err != nil {
			return err
		}
		if readErr != nil {
			return eofIsNil(readErr)
		}
		if last && len(r.buf) > 0 && !r.large {
			r.grow(0)
		}
		if c.serverEOF.Load() {
			_ = c.client.SetReadDeadline(time.Now().Add(c.b.opt.halfCloseTimeout))
		}
		var n int
		n, readErr = c.client.Read(r.buf)
		now = time.Now()
		data = r.buf[:n]
		last = n == len(r.buf)
	}
}

// spliceMin is the body length from which a body of known length is moved
// by the kernel (splice on Linux) rather than through the read buffer.
const spliceMin = 64 << 10

// longBody: the parser is inside a body (or chunk) with at least spliceMin
// bytes to go.
func (p *parser) longBody() bool {
	return (p.state == stBody || p.state == stChunkData) && p.remain >= spliceMin
}

// spliceBody moves the rest of the current body (or chunk) from src to dst.
func spliceBody(dst, src net.Conn, p *parser) error {
	n, err := io.Copy(dst, &io.LimitedReader{R: src, N: p.remain})
	p.remain -= n
	if err == nil && p.remain > 0 {
		err = io.ErrUnexpectedEOF // the sender closed inside the body
	}
	return err
}

func (c *proxyConn) setFinishing(v bool) {
	c.mu.Lock()
	c.finishing = v
	if !v {
		c.cond.Broadcast()
	}
	c.mu.Unlock()
}

// beginRequest returns the leg a new request goes to: the current one, or a
// new one when there is none or the current one is to leave.
func (c *proxyConn) beginRequest() (*leg, error) {
	c.mu.Lock()
	l := c.leg
	if l != nil && l.drainWanted && c.boundaryLocked() {
		c.detachLocked(l)
		l = nil
	}
	c.reqOpen = true
	c.mu.Unlock()
	if l != nil {
		return l, nil
	}
	return c.dial()
}

// requestHead notes a request head about to be sent on l; false when too
// many are in flight to follow.
func (c *proxyConn) requestHead(l *leg, p *parser, now time.Time, finishing bool) bool {
	c.mu.Lock()
	if len(c.pending) >= maxPending {
		c.mu.Unlock()
		return false
	}
	c.finishing = finishing // a request without a body ends with its head
	c.pending = append(c.pending, pendingReq{at: now, head: p.head, connect: p.connect, keepAlive: p.keepAlive})
	c.mu.Unlock()
	if !l.be.http.Load() {
		l.be.http.Store(true)
	}
	l.be.stats.request(now)
	return true
}

// requestEnd notes that a request has been sent whole.
func (c *proxyConn) requestEnd(l *leg) {
	c.mu.Lock()
	c.reqOpen, c.finishing = false, false
	c.cond.Broadcast()
	if l.drainWanted && c.boundaryLocked() {
		c.detachLocked(l)
	}
	c.mu.Unlock()
}

// fromBackend relays instance → client for one leg, then decides what its
// end means for the connection.
func (c *proxyConn) fromBackend(l *leg) {
	b := c.b
	defer b.wg.Done()
	defer close(l.done)
	defer b.release(l.be)
	defer l.conn.Close()
	var p parser
	p.response = true
	err := c.relayBackend(l, &p)
	c.mu.Lock()
	if err == nil {
		// The response may have ended while the client side was still
		// writing the last bytes of its request: let it finish before
		// deciding whether the connection is at a boundary.
		for c.finishing && !c.aborted {
			c.cond.Wait()
		}
	}
	if l.detached {
		c.mu.Unlock()
		return
	}
	if c.mode.Load() == modeUnknown && !c.aborted && !c.clientEOF.Load() && c.leg == l {
		// The instance closed or reset the connection before a byte passed
		// either way (it is stopping, say): as for a failed dial, the
		// client never sees it. Its side moves the connection.
		l.lost = true
		_ = c.client.SetReadDeadline(time.Now())
		c.mu.Unlock()
		b.penalise(l.be)
		return
	}
	if err == nil && c.boundaryLocked() && c.keepAlive && !c.clientEOF.Load() {
		// The instance closed an idle keep-alive connection (its idle
		// timeout, or it is stopping): the client keeps its connection and
		// its next request goes to an instance in rotation.
		l.detached = true
		c.leg = nil
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	if err == nil {
		c.serverEOF.Store(true)
		closeWrite(c.client)
		_ = c.client.SetReadDeadline(time.Now().Add(b.opt.halfCloseTimeout))
		return
	}
	if !errors.Is(err, net.ErrClosed) && b.ctx.Err() == nil {
		b.log.Debug("balancer: instance side", "instance", l.be.id, "err", err)
	}
	c.abort()
}

func (c *proxyConn) relayBackend(l *leg, p *parser) error {
	r := c.b.newReadBuf()
	defer r.release()
	for {
		if c.clientEOF.Load() {
			_ = l.conn.SetReadDeadline(time.Now().Add(c.b.opt.halfCloseTimeout))
		}
		n, err := l.conn.Read(r.buf)
		if n > 0 {
			now := time.Now()
			mode := c.mode.Load()
			if mode == modeUnknown {
				c.mu.Lock()
				if l.detached { // moved before a byte passed: these go nowhere
					c.mu.Unlock()
					return errDetached
				}
				if c.mode.Load() == modeUnknown {
					c.mode.Store(modeOpaque) // the instance spoke first: not HTTP
				}
				mode = c.mode.Load()
				c.mu.Unlock()
			}
			if mode == modeOpaque {
				if _, werr := c.client.Write(r.buf[:n]); werr != nil {
					return werr
				}
				if err != nil {
					return eofIsNil(err)
				}
				r.release()
				return c.pump(c.client, l.conn, &c.clientEOF)
			}
			if rerr := c.responses(l, p, r, r.buf[:n], now, err); rerr != nil || err != nil {
				if rerr == nil && errors.Is(err, io.EOF) {
					return c.responseEOF(p)
				}
				if rerr == nil {
					rerr = err
				}
				return eofIsNil(rerr)
			}
			if n == len(r.buf) && !r.large {
				r.grow(0)
			}
			continue
		}
		if errors.Is(err, io.EOF) {
			return c.responseEOF(p)
		}
		if err != nil {
			return err
		}
	}
}

// responseEOF: a response that runs to the end of the connection ends here.
func (c *proxyConn) responseEOF(p *parser) error {
	if p.state == stUntilClose {
		c.mu.Lock()
		c.respOpen = false
		c.popLocked(false)
		c.mu.Unlock()
	}
	return nil
}

func (c *proxyConn) popLocked(keepAlive bool) {
	if len(c.pending) > 0 {
		keepAlive = keepAlive && c.pending[0].keepAlive
		c.pending = append(c.pending[:0], c.pending[1:]...)
	}
	c.keepAlive = keepAlive
}

// responses relays instance bytes in HTTP mode. It returns errDetached when
// the leg left at a boundary, or io.EOF once the stream stopped being HTTP
// and ended.
//
// Bytes go out in one write per message (or per buffer, for a message that
// spans reads), written before the message's end is noted: each loopback
// write costs about as much as the instance's own work on a small request.
func (c *proxyConn) responses(l *leg, p *parser, r *readBuf, data []byte, now time.Time, readErr error) error {
	pos, from := 0, 0 // parsed up to pos; written up to from
	for pos < len(data) || readErr == nil && p.longBody() {
		if pos == len(data) {
			// The rest of a long body: splice it; the parser steps past it below.
			if err := writeSpan(c.client, data, &from, pos); err != nil {
				return err
			}
			if err := spliceBody(c.client, l.conn, p); err != nil {
				return err
			}
		}
		k, ev := p.feed(data[pos:])
		if ev&evStart != 0 {
			lat := time.Duration(-1)
			c.mu.Lock()
			if l.detached {
				c.mu.Unlock()
				return errDetached
			}
			c.respOpen = true
			p.reqHead, p.reqConnect = false, false
			if len(c.pending) > 0 {
				f := &c.pending[0]
				p.reqHead, p.reqConnect = f.head, f.connect
				if !f.seen {
					f.seen = true
					lat = now.Sub(f.at)
				}
			}
			c.mu.Unlock()
			if lat >= 0 {
				l.be.stats.latency(now, lat)
			}
			continue
		}
		pos += k
		if ev&(evEnd|evOpaque) == 0 {
			continue
		}
		if err := writeSpan(c.client, data, &from, pos); err != nil {
			return err
		}
		if ev&evEnd != 0 {
			c.mu.Lock()
			c.respOpen = false
			c.popLocked(p.keepAlive)
			if ev&evOpaque != 0 {
				c.opaque = true
			}
			leave := l.drainWanted && c.boundaryLocked()
			if leave {
				l.detached = true
				c.leg = nil
			}
			c.mu.Unlock()
			if leave {
				return errDetached
			}
		}
		if ev&evOpaque != 0 {
			c.mu.Lock()
			c.opaque = true
			c.mu.Unlock()
			if err := writeSpan(c.client, data, &from, len(data)); err != nil {
				return err
			}
			if readErr != nil {
				return eofIsNil(readErr)
			}
			r.release()
			if err := c.pump(c.client, l.conn, &c.clientEOF); err != nil {
				return err
			}
			return io.EOF // ended, not as HTTP
		}
	}
	return writeSpan(c.client, data, &from, pos)
}

// writeSpan writes data[*from:to] and moves *from to to.
func writeSpan(w net.Conn, data []byte, from *int, to int) error {
	if to <= *from {
		return nil
	}
	_, err := w.Write(data[*from:to])
	*from = to
	return err
}

// pump moves src to dst until src ends (nil) or fails. Between two TCP
// connections io.Copy splices on Linux: the bytes never enter user space.
// Once the other direction has ended, src may stay idle for the half-close
// timeout at most.
func (c *proxyConn) pump(dst, src net.Conn, otherEnded *atomic.Bool) error {
	n, err := io.Copy(dst, src)
	if err == nil || !isTimeout(err) || !otherEnded.Load() || n == 0 {
		return err
	}
	// The deadline set when the other side ended has passed, but bytes moved
	// meanwhile: go on, copying, with a deadline that slides with traffic.
	r := c.b.newReadBuf()
	defer r.release()
	for {
		_ = src.SetReadDeadline(time.Now().Add(c.b.opt.halfCloseTimeout))
		k, err := src.Read(r.buf)
		if k > 0 {
			if _, werr := dst.Write(r.buf[:k]); werr != nil {
				return werr
			}
		}
		if err != nil {
			return eofIsNil(err)
		}
	}
}

func eofIsNil(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	c.Close()
}

// readBuf is a pooled read buffer that starts small (most connections carry
// small messages) and grows once a read fills it.
type readBuf struct {
	b     *Balancer
	p     *[]byte
	buf   []byte
	large bool
}

func (b *Balancer) newReadBuf() *readBuf {
	p := b.small.Get().(*[]byte)
	return &readBuf{b: b, p: p, buf: *p}
}

// grow switches to a large buffer, keeping its first keep bytes.
func (r *readBuf) grow(keep int) {
	if r.large || r.p == nil {
		return
	}
	p := r.b.large.Get().(*[]byte)
	copy(*p, r.buf[:keep])
	r.b.small.Put(r.p)
	r.p, r.buf, r.large = p, *p, true
}

func (r *readBuf) release() {
	if r.p == nil {
		return
	}
	if r.large {
		r.b.large.Put(r.p)
	} else {
		r.b.small.Put(r.p)
	}
	r.p, r.buf = nil, nil
}
