package balance

import (
	"bytes"
	"strconv"
)

// This file holds the HTTP/1.x observer: just enough of RFC 9112 to find
// where each request and response starts and ends in a byte stream (heads,
// Content-Length and chunked bodies, bodies that run to the end of the
// connection, HEAD, 1xx, 204, 304, CONNECT and Upgrade). It never changes
// the bytes; anything it cannot follow makes it step aside (evOpaque) and
// the rest of the stream is passed through uncounted.

// Events reported by [parser.feed], as bit flags.
const (
	evStart  = 1 << iota // a message begins here (reported with 0 bytes consumed)
	evHead               // the message head ends with the consumed bytes
	evEnd                // the message ends with the consumed bytes
	evOpaque             // the bytes after the consumed ones are not HTTP/1.x any more
)

type pstate uint8

const (
	stIdle       pstate = iota // between messages
	stHead                     // inside a head, collecting it in p.buf
	stBody                     // p.remain body bytes left
	stChunkSize                // collecting a chunk-size line
	stChunkData                // p.remain bytes of chunk data left
	stChunkEnd                 // the CRLF after chunk data
	stTrailer                  // trailer lines after the last chunk
	stUntilClose               // a response body that ends with the connection
	stOpaque                   // not following the stream any more
)

const (
	maxHead = 64 << 10 // a longer head is not followed (servers refuse them too)
	maxLine = 4 << 10  // a chunk-size or trailer line
)

// parser follows one direction of an HTTP/1.x connection.
type parser struct {
	response bool
	state    pstate
	remain   int64
	buf      []byte // the head, or the current chunk/trailer line
	line     int    // where the current head line starts in buf
	after    pstate // state after the current message ends: stIdle or stOpaque

	// For responses, set by the caller at evStart from the request answered.
	reqHead, reqConnect bool

	// Facts about the last head parsed.
	head      bool // request: method HEAD
	connect   bool // request: method CONNECT
	status    int  // response: status code
	keepAlive bool // the connection may carry another message after this one
}

// feed consumes a prefix of b up to the next event (or all of b when none
// happens in it) and returns its length and the events at its end. A caller
// loops until b is consumed; evStart comes with n == 0.
func (p *parser) feed(b []byte) (n int, ev int) {
	switch p.state {
	case stIdle:
		if len(b) == 0 {
			return 0, 0
		}
		p.state, p.buf, p.line = stHead, p.buf[:0], 0
		return 0, evStart
	case stHead:
		return p.feedHead(b)
	case stBody, stChunkData:
		k := int64(len(b))
		if k > p.remain {
			k = p.remain
		}
		p.remain -= k
		if p.remain > 0 {
			return int(k), 0
		}
		if p.state == stChunkData {
			p.state = stChunkEnd
			return int(k), 0
		}
		return int(k), p.end()
	case stChunkSize, stChunkEnd, stTrailer:
		return p.feedLine(b)
	case stUntilClose:
		return len(b), 0
	}
	return 0, evOpaque
}

// end finishes a message and returns its events.
func (p *parser) end() int {
	p.state = p.after
	if p.after == stOpaque {
		return evEnd | evOpaque
	}
	return evEnd
}

// giveUp stops following the stream.
func (p *parser) giveUp() int {
	p.state = stOpaque
	return evOpaque
}

func (p *parser) feedHead(b []byte) (int, int) {
	i := 0
	for i < len(b) {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			if len(p.buf)+len(b)-i > maxHead {
				return i, p.giveUp()
			}
			p.buf = append(p.buf, b[i:]...)
			return len(b), 0
		}
		end := i + j + 1
		if len(p.buf)+end-i > maxHead {
			return i, p.giveUp()
		}
		p.buf = append(p.buf, b[i:end]...)
		i = end
		line := p.buf[p.line : len(p.buf)-1]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) > 0 {
			p.line = len(p.buf)
			continue
		}
		if p.line == 0 { // empty lines before a message are ignored (RFC 9112 §2.2)
			p.buf = p.buf[:0]
			continue
		}
		var ev int
		if p.response {
			ev = p.endResponseHead()
		} else {
			ev = p.endRequestHead()
		}
		p.buf = p.buf[:0] // now holds chunk-size and trailer lines
		return i, ev
	}
	return i, 0
}

// feedLine handles the line-based parts of a chunked body.
func (p *parser) feedLine(b []byte) (int, int) {
	j := bytes.IndexByte(b, '\n')
	if j < 0 {
		if len(p.buf)+len(b) > maxLine {
			return 0, p.giveUp()
		}
		p.buf = append(p.buf, b...)
		return len(b), 0
	}
	if len(p.buf)+j > maxLine {
		return 0, p.giveUp()
	}
	line := append(p.buf, b[:j]...)
	p.buf = line[:0]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	switch p.state {
	case stChunkSize:
		size, ok := chunkSize(line)
		if !ok {
			return j + 1, p.giveUp()
		}
		if size == 0 {
			p.state = stTrailer
		} else {
			p.state, p.remain = stChunkData, size
		}
	case stChunkEnd:
		if len(line) != 0 {
			return j + 1, p.giveUp()
		}
		p.state = stChunkSize
	case stTrailer:
		if len(line) == 0 {
			return j + 1, p.end()
		}
	}
	return j + 1, 0
}

// chunkSize reads "1a2b[;ext]".
func chunkSize(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range line {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | int64(c-'0')
		case c >= 'a' && c <= 'f':
			n = n<<4 | int64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			n = n<<4 | int64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// headFields are the header values that decide framing and reuse.
type headFields struct {
	contentLength int64 // -1 when absent
	chunked       bool  // Transfer-Encoding ends with chunked
	transfer      bool  // Transfer-Encoding present
	close         bool  // Connection: close
	keepAlive     bool  // Connection: keep-alive
	upgrade       bool  // Upgrade present and Connection: upgrade
	bad           bool  // a Content-Length that cannot be read
}

// fields reads the header lines of head (after the start line).
func fields(lines []byte) headFields {
	h := headFields{contentLength: -1}
	hasUpgrade, connUpgrade := false, false
	for len(lines) > 0 {
		var line []byte
		if i := bytes.IndexByte(lines, '\n'); i >= 0 {
			line, lines = lines[:i], lines[i+1:]
		} else {
			line, lines = lines, nil
		}
		line = bytes.TrimRight(line, "\r")
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name, value := line[:colon], bytes.Trim(line[colon+1:], " \t")
		switch {
		case bytes.EqualFold(name, []byte("content-length")):
			// "n" or a list of the same n repeated (RFC 9110 §8.6).
			first, _, _ := bytes.Cut(value, []byte(","))
			n, err := strconv.ParseInt(string(bytes.TrimSpace(first)), 10, 64)
			if err != nil || n < 0 || (h.contentLength >= 0 && h.contentLength != n) {
				h.bad = true
			}
			h.contentLength = n
		case bytes.EqualFold(name, []byte("transfer-encoding")):
			h.transfer = true
			last := value
			if i := bytes.LastIndexByte(value, ','); i >= 0 {
				last = bytes.TrimSpace(value[i+1:])
			}
			h.chunked = bytes.EqualFold(last, []byte("chunked"))
		case bytes.EqualFold(name, []byte("connection")):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				switch {
				case bytes.EqualFold(tok, []byte("close")):
					h.close = true
				case bytes.EqualFold(tok, []byte("keep-alive")):
					h.keepAlive = true
				case bytes.EqualFold(tok, []byte("upgrade")):
					connUpgrade = true
				}
			}
		case bytes.EqualFold(name, []byte("upgrade")):
			hasUpgrade = true
		}
	}
	h.upgrade = hasUpgrade && connUpgrade
	return h
}

// version reads "HTTP/1.0" or "HTTP/1.1": ok, and whether it is 1.1.
func version(v []byte) (ok, v11 bool) {
	if len(v) != 8 || string(v[:7]) != "HTTP/1." || (v[7] != '0' && v[7] != '1') {
		return false, false
	}
	return true, v[7] == '1'
}

func (p *parser) endRequestHead() int {
	first, rest, _ := bytes.Cut(p.buf, []byte("\n"))
	first = bytes.TrimRight(first, "\r")
	method, rest1, ok1 := bytes.Cut(first, []byte(" "))
	_, ver, ok2 := bytes.Cut(rest1, []byte(" "))
	ok, v11 := version(ver)
	if !ok1 || !ok2 || !ok || len(method) == 0 {
		return p.giveUp()
	}
	h := fields(rest)
	p.head = string(method) == "HEAD"
	p.connect = string(method) == "CONNECT"
	p.keepAlive = v11 && !h.close || !v11 && h.keepAlive
	p.after = stIdle
	if p.connect || h.upgrade {
		p.after = stOpaque // what follows is another protocol once the server agrees
	}
	switch {
	case h.bad:
		return evHead | p.giveUp()
	case h.transfer && !h.chunked:
		return evHead | p.giveUp() // servers refuse this (RFC 9112 §6.3); don't guess
	case h.chunked:
		p.state = stChunkSize
		return evHead
	case h.contentLength > 0:
		p.state, p.remain = stBody, h.contentLength
		return evHead
	}
	return evHead | p.end()
}

func (p *parser) endResponseHead() int {
	first, rest, _ := bytes.Cut(p.buf, []byte("\n"))
	first = bytes.TrimRight(first, "\r")
	ver, rest1, ok1 := bytes.Cut(first, []byte(" "))
	code, _, _ := bytes.Cut(rest1, []byte(" "))
	ok, v11 := version(ver)
	status, err := strconv.Atoi(string(code))
	if !ok1 || !ok || err != nil || len(code) != 3 || status < 100 {
		return p.giveUp()
	}
	h := fields(rest)
	p.status = status
	p.keepAlive = v11 && !h.close || !v11 && h.keepAlive
	p.after = stIdle
	switch {
	case status == 101 || p.reqConnect && status/100 == 2:
		p.after = stOpaque
		return evHead | p.end()
	case status/100 == 1: // an interim response; the final one follows
		p.state = stIdle
		return evHead
	case p.reqHead || status == 204 || status == 304:
		return evHead | p.end()
	case h.bad:
		return evHead | p.giveUp()
	case h.chunked:
		p.state = stChunkSize
		return evHead
	case h.transfer:
		p.state, p.keepAlive = stUntilClose, false
		return evHead
	case h.contentLength == 0:
		return evHead | p.end()
	case h.contentLength > 0:
		p.state, p.remain = stBody, h.contentLength
		return evHead
	}
	p.state, p.keepAlive = stUntilClose, false
	return evHead
}

// Sniff results.
const (
	sniffNo   = iota // not an HTTP/1.x request line
	sniffYes         // an HTTP/1.x request line
	sniffMore        // could be one: more bytes needed to tell
)

// sniffMax bounds the bytes looked at to tell.
const sniffMax = 8 << 10

// sniff tells whether b starts with an HTTP/1.x request line
// ("METHOD SP target SP HTTP/1.x CRLF"). HTTP/2's preface ("PRI * HTTP/2.0")
// and every other protocol answer no.
func sniff(b []byte) int {
	i := 0
	for i < len(b) && i < 20 && (b[i] >= 'A' && b[i] <= 'Z' || b[i] == '-' || b[i] == '_') {
		i++
	}
	if i == len(b) {
		return more(i < 20)
	}
	if i == 0 || b[i] != ' ' {
		return sniffNo
	}
	i++
	start := i
	for i < len(b) && b[i] > ' ' && b[i] != 0x7f {
		i++
	}
	if i == len(b) {
		return more(len(b) < sniffMax)
	}
	if i == start || b[i] != ' ' {
		return sniffNo
	}
	i++
	const want = "HTTP/1."
	for j := 0; j < len(want); j, i = j+1, i+1 {
		if i == len(b) {
			return sniffMore
		}
		if b[i] != want[j] {
			return sniffNo
		}
	}
	if i == len(b) {
		return sniffMore
	}
	if b[i] != '0' && b[i] != '1' {
		return sniffNo
	}
	i++
	if i < len(b) && b[i] == '\r' {
		i++
	}
	if i == len(b) {
		return sniffMore
	}
	if b[i] == '\n' {
		return sniffYes
	}
	return sniffNo
}

func more(could bool) int {
	if could {
		return sniffMore
	}
	return sniffNo
}
