package logs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Stream names one of a process's output streams. Values combine as a set
// in [Query.Streams].
type Stream uint8

const (
	// Out is the process's standard output, stored in <name>-out.log.
	Out Stream = 1 << iota
	// Err is the process's standard error, stored in <name>-err.log.
	Err
	// Both selects both streams in a [Query].
	Both = Out | Err
)

// String returns "out", "err" or "both": the word used in file names.
func (s Stream) String() string {
	switch s {
	case Out:
		return "out"
	case Err:
		return "err"
	case Both:
		return "both"
	}
	return "stream(" + strconv.Itoa(int(s)) + ")"
}

// ParseStream accepts "out"/"stdout", "err"/"stderr" and "both"/"" (both).
func ParseStream(s string) (Stream, error) {
	switch strings.ToLower(s) {
	case "out", "stdout":
		return Out, nil
	case "err", "stderr":
		return Err, nil
	case "both", "", "all":
		return Both, nil
	}
	return 0, fmt.Errorf("stream %q: want out, err or both", s)
}

// ErrBadName is returned for a process name that cannot be a file name.
var ErrBadName = errors.New("invalid log name")

func checkName(name string) error {
	if name == "" || name == "." || name == ".." || name == "all" ||
		strings.ContainsAny(name, "/\\\x00") {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	return nil
}

// Rotated files are numbered with a sequence that only grows, so a rotated
// file is never renamed again: a reader that opened it keeps a valid view,
// and gzip in the background only ever adds ".gz".
const seqWidth = 6

func currentPath(dir, name string, st Stream) string {
	return filepath.Join(dir, name+"-"+st.String()+".log")
}

func rotatedPath(dir, name string, st Stream, seq int64) string {
	return filepath.Join(dir, fmt.Sprintf("%s-%s.%0*d.log", name, st, seqWidth, seq))
}

// fileEntry is one file of a source as found in the directory.
type fileEntry struct {
	name   string
	stream Stream
	seq    int64 // seqCurrent for <name>-<stream>.log
	gz     bool
	tmp    bool // an unfinished ".gz.tmp" left by a compression
	path   string
}

const seqCurrent = int64(1<<63 - 1)

// parseFileName recognises the names this package writes; anything else in
// the directory is ignored.
func parseFileName(base string) (fileEntry, bool) {
	e := fileEntry{}
	rest := base
	switch {
	case strings.HasSuffix(rest, ".log.gz.tmp"):
		e.tmp = true
		rest = strings.TrimSuffix(rest, ".gz.tmp")
	case strings.HasSuffix(rest, ".log.gz"):
		e.gz = true
		rest = strings.TrimSuffix(rest, ".gz")
	}
	if !strings.HasSuffix(rest, ".log") {
		return e, false
	}
	rest = strings.TrimSuffix(rest, ".log")
	e.seq = seqCurrent
	// A rotation number follows "-out." or "-err."; any other dot belongs to
	// the process name (api.v2-out.log is api.v2's current file).
	if i := strings.LastIndexByte(rest, '.'); i >= 0 && (strings.HasSuffix(rest[:i], "-out") || strings.HasSuffix(rest[:i], "-err")) {
		n, err := strconv.ParseInt(rest[i+1:], 10, 64)
		if err != nil || n < 0 {
			return e, false
		}
		e.seq = n
		rest = rest[:i]
	} else if e.gz || e.tmp {
		return e, false // the current file is never compressed
	}
	switch {
	case strings.HasSuffix(rest, "-out"):
		e.stream = Out
	case strings.HasSuffix(rest, "-err"):
		e.stream = Err
	default:
		return e, false
	}
	e.name = rest[:len(rest)-4]
	if checkName(e.name) != nil {
		return e, false
	}
	return e, true
}

// listDir returns the log files in dir, grouped by source and sorted oldest
// first (the current file last). When both "X.log" and "X.log.gz" exist (a
// compression is finishing), only the ".log" is listed: it is complete.
func listDir(dir string) (map[srcKey][]fileEntry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list logs: %w", err)
	}
	out := map[srcKey][]fileEntry{}
	for _, de := range des {
		e, ok := parseFileName(de.Name())
		if !ok || e.tmp {
			continue
		}
		e.path = filepath.Join(dir, de.Name())
		k := srcKey{e.name, e.stream}
		out[k] = append(out[k], e)
	}
	for k, fs := range out {
		sort.Slice(fs, func(i, j int) bool {
			if fs[i].seq != fs[j].seq {
				return fs[i].seq < fs[j].seq
			}
			return !fs[i].gz // plain before gz
		})
		dedup := fs[:0]
		for i, f := range fs {
			if i > 0 && fs[i-1].seq == f.seq {
				continue
			}
			dedup = append(dedup, f)
		}
		out[k] = dedup
	}
	return out, nil
}

// srcKey identifies one stream of one process: one chain of files.
type srcKey struct {
	name   string
	stream Stream
}

// less orders sources for the merge so that lines with equal stamps from
// different sources still have one fixed order (needed by cursors).
func (k srcKey) less(o srcKey) bool {
	if k.name != o.name {
		return k.name < o.name
	}
	return k.stream < o.stream
}

func (k srcKey) compare(o srcKey) int {
	switch {
	case k == o:
		return 0
	case k.less(o):
		return -1
	}
	return 1
}
