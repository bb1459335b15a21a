package logs

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
)

// compressor gzips rotated files on one background goroutine, started when
// there is work and ended when the queue is empty, so an idle store runs no
// goroutine. Compression never touches the file being written.
type compressor struct {
	store *Store

	mu      sync.Mutex
	queue   []srcKey
	running bool
	stopped bool
	idle    chan struct{} // closed when the loop ends; for tests and Close
}

func (c *compressor) enqueue(k srcKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	for _, q := range c.queue {
		if q == k {
			return
		}
	}
	c.queue = append(c.queue, k)
	if !c.running {
		c.running = true
		c.idle = make(chan struct{})
		c.store.wg.Add(1)
		go c.loop()
	}
}

// stop drops the queued work; the file being compressed is finished.
func (c *compressor) stop() {
	c.mu.Lock()
	c.stopped = true
	c.queue = nil
	c.mu.Unlock()
}

// wait returns when no compression is queued or running.
func (c *compressor) wait() {
	c.mu.Lock()
	idle := c.idle
	c.mu.Unlock()
	if idle != nil {
		<-idle
	}
}

func (c *compressor) loop() {
	defer c.store.wg.Done()
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.stopped {
			c.running = false
			close(c.idle)
			c.mu.Unlock()
			return
		}
		k := c.queue[0]
		c.queue = c.queue[1:]
		c.mu.Unlock()
		c.compressKey(k)
	}
}

// compressKey compresses every rotated, not yet compressed file of k, oldest
// first. Catching up on all of them (not just the newest) also finishes the
// work a previous Close left queued.
func (c *compressor) compressKey(k srcKey) {
	s := c.store
	s.filesMu.Lock()
	all, err := listDirAll(s.opts.Dir, k)
	s.filesMu.Unlock()
	if err != nil {
		s.onError(err)
		return
	}
	var todo []int64
	for seq, paths := range all {
		plain := rotatedPath(s.opts.Dir, k.name, k.stream, seq)
		hasPlain, hasGz := false, false
		for _, p := range paths {
			hasPlain = hasPlain || p == plain
			hasGz = hasGz || p == plain+".gz"
		}
		if hasPlain && !hasGz {
			todo = append(todo, seq)
		}
	}
	sort.Slice(todo, func(i, j int) bool { return todo[i] < todo[j] })
	for _, seq := range todo {
		c.mu.Lock()
		stopped := c.stopped
		c.mu.Unlock()
		if stopped {
			return
		}
		if err := c.compressFile(rotatedPath(s.opts.Dir, k.name, k.stream, seq)); err != nil {
			s.onError(err)
		}
	}
}

// gzCommentFormat records a file's first and last stamps in the gzip header,
// so a query can pick gzipped files by time without decompressing them.
const gzCommentFormat = "velos-logs first=%d last=%d"

// compressFile writes path.gz.tmp, syncs it, and then, under filesMu,
// renames it to path.gz and removes path. A reader that listed path keeps
// its open file; one that lists later finds path.gz. If path was deleted in
// the meantime (pruned or flushed), the result is discarded.
func (c *compressor) compressFile(path string) error {
	src, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("compress log: %w", err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return fmt.Errorf("compress log: %w", err)
	}
	lf := &logFile{ra: src, size: fi.Size()}
	first, last, _ := lf.bounds()
	tmp := path + ".gz.tmp"
	dst, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("compress log: %w", err)
	}
	zw, _ := gzip.NewWriterLevel(dst, gzip.BestSpeed) // the level is valid
	zw.Comment = fmt.Sprintf(gzCommentFormat, first, last)
	_, err = io.Copy(zw, io.NewSectionReader(src, 0, fi.Size()))
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = dst.Sync() // the plain file is deleted next: the copy must be durable
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compress %s: %w", path, err)
	}
	s := c.store
	s.filesMu.Lock()
	defer s.filesMu.Unlock()
	if _, err := os.Stat(path); err != nil {
		os.Remove(tmp)
		return nil
	}
	if err := os.Rename(tmp, path+".gz"); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compress %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("compress %s: %w", path, err)
	}
	return nil
}
