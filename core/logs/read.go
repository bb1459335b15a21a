package logs

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
)

// logFile is one log file opened for reading through io.ReaderAt, so the
// same search code serves plain files (read in place) and gzipped ones
// (decompressed into memory when, and only when, their lines are needed).
type logFile struct {
	ra   io.ReaderAt
	size int64
	c    io.Closer

	gzPath     string // set for a gzipped file not loaded yet
	zfirst     int64  // stamps from the gzip header
	zlast      int64
	zboundsOK  bool
	end        int64 // end of the last complete record (valid if endOK)
	endOK      bool
	first      int64
	last       int64
	haveBounds bool
	boundsOK   bool
}

// openLogFile opens e; a rotated ".log" that was compressed since it was
// listed is opened as ".log.gz" instead.
func openLogFile(e fileEntry) (*logFile, error) {
	path := e.path
	if !e.gz {
		f, err := os.Open(path)
		if err == nil {
			fi, err := f.Stat()
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("stat log: %w", err)
			}
			return &logFile{ra: f, size: fi.Size(), c: f}, nil
		}
		if !errors.Is(err, os.ErrNotExist) || e.seq == seqCurrent {
			return nil, fmt.Errorf("open log: %w", err)
		}
		path += ".gz"
	}
	return openGz(path)
}

func openGz(path string) (*logFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	lf := &logFile{gzPath: path}
	var a, b int64
	if n, _ := fmt.Sscanf(zr.Comment, gzCommentFormat, &a, &b); n == 2 {
		lf.zfirst, lf.zlast, lf.zboundsOK = a, b, true
	}
	return lf, nil
}

// load decompresses a gzipped file. Rotated files are at most MaxSize plus
// one record, so the memory is bounded by the rotation settings.
func (lf *logFile) load() error {
	if lf.gzPath == "" || lf.ra != nil {
		return nil
	}
	f, err := os.Open(lf.gzPath)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		return fmt.Errorf("read %s: %w", lf.gzPath, err)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, zr); err != nil {
		return fmt.Errorf("read %s: %w", lf.gzPath, err)
	}
	lf.ra = bytes.NewReader(buf.Bytes())
	lf.size = int64(buf.Len())
	return nil
}

func (lf *logFile) close() {
	if lf.c != nil {
		lf.c.Close()
	}
	lf.ra = nil
}

// bounds returns the stamps of the first and last complete records; ok is
// false for a file without any.
func (lf *logFile) bounds() (first, last int64, ok bool) {
	if lf.ra == nil && lf.zboundsOK {
		return lf.zfirst, lf.zlast, true
	}
	if lf.haveBounds {
		return lf.first, lf.last, lf.boundsOK
	}
	lf.haveBounds = true
	if err := lf.load(); err != nil {
		return 0, 0, false
	}
	end := lf.dataEnd()
	if end == 0 {
		return 0, 0, false
	}
	// The first valid stamp from the start, the last one from the end.
	off := int64(0)
	for off < end {
		if ts, ok := lf.stampAt(off); ok {
			lf.first = ts
			break
		}
		off = lf.nextStart(off + 1)
	}
	if off >= end {
		return 0, 0, false
	}
	for e := end; e > 0; {
		st := lf.prevStart(e)
		if ts, ok := lf.stampAt(st); ok {
			lf.last = ts
			lf.boundsOK = true
			break
		}
		e = st
	}
	return lf.first, lf.last, lf.boundsOK
}

// dataEnd is the end of the last complete record: a file being written may
// end with part of a record, which readers ignore.
func (lf *logFile) dataEnd() int64 {
	if lf.endOK {
		return lf.end
	}
	lf.endOK = true
	var buf [4096]byte
	for off := lf.size; off > 0; {
		start := max(0, off-int64(len(buf)))
		n, _ := lf.ra.ReadAt(buf[:off-start], start)
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			lf.end = start + int64(i) + 1
			return lf.end
		}
		off = start
	}
	return 0
}

// nextStart returns the first record start at or after off (size if none).
func (lf *logFile) nextStart(off int64) int64 {
	if off <= 0 {
		return 0
	}
	var buf [4096]byte
	for p := off - 1; p < lf.size; {
		n, err := lf.ra.ReadAt(buf[:], p)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return p + int64(i) + 1
		}
		if n == 0 || (err != nil && !errors.Is(err, io.EOF)) {
			break
		}
		p += int64(n)
	}
	return lf.size
}

// prevStart returns the start of the record that ends at end (end is a
// record boundary > 0).
func (lf *logFile) prevStart(end int64) int64 {
	var buf [4096]byte
	stop := end - 1 // the record's own newline
	for stop > 0 {
		start := max(0, stop-int64(len(buf)))
		n, _ := lf.ra.ReadAt(buf[:stop-start], start)
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1
		}
		stop = start
	}
	return 0
}

func (lf *logFile) stampAt(off int64) (int64, bool) {
	var b [stampLen + 1]byte
	n, _ := lf.ra.ReadAt(b[:], off)
	if n < len(b) {
		return 0, false
	}
	return parseStamp(b[:])
}

// linearLimit is the span under which seek stops bisecting and reads.
const linearLimit = 64 << 10

// seek returns the offset of the first record stamped at or after t, or the
// end of the data. It bisects on byte offsets (the records are in stamp
// order) and reads only a few KiB per step, so a time range is found in a
// 1 GiB file with ~20 small reads instead of a scan. Unparseable records
// count as earlier than t.
func (lf *logFile) seek(t int64) int64 {
	end := lf.dataEnd()
	lo, hi := int64(0), end // records starting before lo are < t; records starting at or after hi are >= t
	for hi-lo > linearLimit {
		mid := lo + (hi-lo)/2
		r := lf.nextStart(mid)
		if r >= hi {
			hi = mid
			continue
		}
		if ts, ok := lf.stampAt(r); ok && ts >= t {
			hi = mid
		} else {
			lo = r + 1
		}
	}
	off := lf.nextStart(lo)
	br := bufio.NewReaderSize(io.NewSectionReader(lf.ra, off, end-off), 64<<10)
	for off < end {
		rec, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			n := int64(len(rec))
			for errors.Is(err, bufio.ErrBufferFull) {
				rec, err = br.ReadSlice('\n')
				n += int64(len(rec))
			}
			off += n
			continue
		}
		if err != nil {
			break
		}
		if ts, ok := parseStamp(rec); ok && ts >= t {
			return off
		}
		off += int64(len(rec))
	}
	return end
}

// record is one parsed record. text aliases a reader's buffer and is valid
// until the reader moves on.
type record struct {
	ts   int64
	cont bool
	text []byte
}

func parseRecord(rec []byte) (record, bool) {
	// rec includes its newline
	if len(rec) < recordOverhead {
		return record{}, false
	}
	ts, ok := parseStamp(rec)
	if !ok || (rec[stampLen] != sepLine && rec[stampLen] != sepCont) {
		return record{}, false
	}
	return record{ts: ts, cont: rec[stampLen] == sepCont, text: rec[stampLen+1 : len(rec)-1]}, true
}

// fwdReader reads the records of one file forward from an offset.
type fwdReader struct {
	br  *bufio.Reader
	off int64
	end int64
}

const readerBufSize = MaxLineBytes + recordOverhead + 4096

func newFwdReader(lf *logFile, off int64) *fwdReader {
	end := lf.dataEnd()
	return &fwdReader{br: bufio.NewReaderSize(io.NewSectionReader(lf.ra, off, end-off), readerBufSize), off: off, end: end}
}

// next returns the next valid record; records too long for the buffer (not
// written by this package) and corrupt ones are skipped.
func (r *fwdReader) next() (record, bool) {
	for r.off < r.end {
		rec, err := r.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			r.off += int64(len(rec))
			for errors.Is(err, bufio.ErrBufferFull) {
				rec, err = r.br.ReadSlice('\n')
				r.off += int64(len(rec))
			}
			continue
		}
		if err != nil {
			return record{}, false
		}
		r.off += int64(len(rec))
		if rc, ok := parseRecord(rec); ok {
			return rc, true
		}
	}
	return record{}, false
}

// bwdReader reads the records of one file backward from a record boundary.
type bwdReader struct {
	lf  *logFile
	end int64  // records before end are still to be read
	win []byte // file bytes [winStart, winStart+len(win))
	ws  int64
}

func newBwdReader(lf *logFile, end int64) *bwdReader {
	return &bwdReader{lf: lf, end: end}
}

const bwdChunk = 128 << 10

func (r *bwdReader) prev() (record, bool) {
	for r.end > 0 {
		// Make sure the window holds [x, end) where x is the record start.
		for {
			if r.win != nil && r.ws < r.end && r.ws+int64(len(r.win)) >= r.end {
				w := r.win[:r.end-r.ws]
				if i := bytes.LastIndexByte(w[:len(w)-1], '\n'); i >= 0 || r.ws == 0 {
					start := i + 1
					rec := w[start:]
					r.end = r.ws + int64(start)
					if rc, ok := parseRecord(rec); ok {
						return rc, true
					}
					break
				}
			}
			// Refill: the window ends at end and reaches back at least a chunk
			// (more when one record does not fit).
			want := int64(bwdChunk)
			if r.win != nil && r.ws+int64(len(r.win)) >= r.end && r.end-r.ws >= want {
				want = 2 * (r.end - r.ws)
			}
			ws := max(0, r.end-want)
			buf := make([]byte, r.end-ws)
			n, err := r.lf.ra.ReadAt(buf, ws)
			if n < len(buf) {
				_ = err
				r.end = 0
				return record{}, false
			}
			r.win, r.ws = buf, ws
		}
	}
	return record{}, false
}
