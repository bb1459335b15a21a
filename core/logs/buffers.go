package logs

import (
	"sync"
	"sync/atomic"
)

// buffers pools the byte buffers of a store's readers and writers by size
// class (initialBufSize, doubled up to readBufSize), so that a stream holds
// a buffer only while it has bytes in it: a hundred idle processes hold
// none, and one that wrote a burst does not keep the burst's buffer.
type buffers struct {
	pools [bufClasses]sync.Pool // of *pooled
	out   atomic.Int64          // buffers taken and not given back
}

// pooled is one buffer as the pool holds it: taking one and giving it back
// allocates nothing once the pool is warm.
type pooled struct{ b []byte }

// bufClasses are the sizes initialBufSize << 0 … readBufSize (4 KiB …
// 128 KiB); TestBufferClasses holds it to those constants.
const bufClasses = 6

// classOf is the smallest class holding size bytes.
func classOf(size int) int {
	c := 0
	for initialBufSize<<c < size && c < bufClasses-1 {
		c++
	}
	return c
}

// get returns a buffer of at least size bytes (len = cap).
func (b *buffers) get(size int) *pooled {
	c := classOf(size)
	b.out.Add(1)
	if p, ok := b.pools[c].Get().(*pooled); ok {
		return p
	}
	return &pooled{b: make([]byte, initialBufSize<<c)}
}

// put gives p back; its b must be the buffer get returned (or one of the
// same capacity).
func (b *buffers) put(p *pooled) {
	b.out.Add(-1)
	c := classOf(cap(p.b))
	if cap(p.b) != initialBufSize<<c {
		return // not a pooled size (it grew): let it go
	}
	p.b = p.b[:cap(p.b)]
	b.pools[c].Put(p)
}
