//go:build linux

package metrics

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// userHZ is the unit of the tick fields in /proc/<pid>/stat. It is part of the
// kernel ABI (USER_HZ) and 100 on every Linux architecture, whatever CONFIG_HZ
// is, so it is not read from sysconf.
const userHZ = 100

func newReader() procReader { return newProcfsReader("/proc") }

// procfsReader reads /proc directly: one stat read gives ppid, CPU (with reaped
// children), threads, start time and RSS, where gopsutil needs four files.
type procfsReader struct {
	root     string
	pageSize uint64
	boot     time.Time
	// childFiles: the kernel has /proc/<pid>/task/<tid>/children
	// (CONFIG_PROC_CHILDREN). Without it the children of a pid are found by
	// scanning every process once per pass, and that scan's stats are reused.
	childFiles bool
	scan       map[int32]procStat
	kids       map[int32][]int32
	buf        []byte
}

func newProcfsReader(root string) *procfsReader {
	r := &procfsReader{root: root, pageSize: uint64(os.Getpagesize()), buf: make([]byte, 4096)}
	r.boot = readBootTime(root)
	self := strconv.Itoa(os.Getpid())
	if _, err := os.Stat(root + "/" + self + "/task/" + self + "/children"); err == nil {
		r.childFiles = true
	}
	return r
}

// readBootTime returns the btime line of /proc/stat; a zero time only makes
// created times wrong, never the identity checks, which use raw ticks.
func readBootTime(root string) time.Time {
	f, err := os.Open(root + "/stat")
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("btime ")); ok {
			if n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64); err == nil {
				return time.Unix(n, 0)
			}
		}
	}
	return time.Time{}
}

func (r *procfsReader) withChildren() bool { return true }

func (r *procfsReader) begin(ctx context.Context, trees bool) error {
	r.scan, r.kids = nil, nil
	if r.childFiles || !trees {
		return nil
	}
	d, err := os.Open(r.root)
	if err != nil {
		return fmt.Errorf("scan processes: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("scan processes: %w", err)
	}
	r.scan = make(map[int32]procStat, len(names))
	r.kids = make(map[int32][]int32, len(names)/2)
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		pid64, err := strconv.ParseInt(name, 10, 32)
		if err != nil {
			continue
		}
		pid := int32(pid64)
		st, err := r.readStat(pid)
		if err != nil {
			continue // exited since the listing
		}
		r.scan[pid] = st
		r.kids[st.ppid] = append(r.kids[st.ppid], pid)
	}
	return ctx.Err()
}

func (r *procfsReader) stat(_ context.Context, pid int32) (procStat, error) {
	if r.scan != nil {
		if st, ok := r.scan[pid]; ok {
			return st, nil
		}
	}
	return r.readStat(pid)
}

// readFile reads a small procfs file into the reader's buffer. procfs files
// report size 0, so os.ReadFile would grow a fresh buffer for every call.
func (r *procfsReader) readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := 0
	for {
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := f.Read(r.buf[n:])
		n += m
		if errors.Is(err, io.EOF) || (err == nil && m == 0) {
			return r.buf[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (r *procfsReader) readStat(pid int32) (procStat, error) {
	b, err := r.readFile(r.root + "/" + strconv.Itoa(int(pid)) + "/stat")
	if err != nil {
		return procStat{}, fmt.Errorf("process %d: %w", pid, err)
	}
	st, err := parseStat(b, r.pageSize, r.boot)
	if err != nil {
		return procStat{}, fmt.Errorf("process %d: %w", pid, err)
	}
	return st, nil
}

// parseStat decodes /proc/<pid>/stat (proc(5)). The command name may contain
// spaces and parentheses, so fields are counted from the last ')'.
func parseStat(b []byte, pageSize uint64, boot time.Time) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("malformed stat: no ')'")
	}
	// f[0] is field 3 (state), so field N of proc(5) is f[N-3].
	var f [22][]byte
	n := 0
	for _, tok := range bytes.Fields(b[i+1:]) {
		if n == len(f) {
			break
		}
		f[n] = tok
		n++
	}
	if n < len(f) {
		return procStat{}, fmt.Errorf("malformed stat: %d fields", n+2)
	}
	num := func(k int) uint64 {
		v, _ := strconv.ParseUint(string(f[k-3]), 10, 64)
		return v
	}
	ppid, _ := strconv.ParseInt(string(f[4-3]), 10, 32)
	start := num(22)
	st := procStat{
		ppid:     int32(ppid),
		start:    start,
		cpu:      float64(num(14)+num(15)) / userHZ, // utime + stime
		childCPU: float64(num(16)+num(17)) / userHZ, // cutime + cstime
		threads:  int(num(20)),
		rss:      num(24) * pageSize,
		zombie:   len(f[0]) == 1 && f[0][0] == 'Z',
	}
	if !boot.IsZero() {
		st.created = boot.Add(time.Duration(start) * time.Second / userHZ)
	}
	return st, nil
}

func (r *procfsReader) children(_ context.Context, pid int32) []int32 {
	if !r.childFiles {
		return r.kids[pid]
	}
	// A child hangs off the thread that forked it, so every thread's list is
	// needed, not just the leader's.
	dir := r.root + "/" + strconv.Itoa(int(pid)) + "/task"
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	tids, _ := d.Readdirnames(-1)
	d.Close()
	var out []int32
	for _, tid := range tids {
		b, err := r.readFile(dir + "/" + tid + "/children")
		if err != nil {
			continue
		}
		for _, tok := range bytes.Fields(b) {
			if c, err := strconv.ParseInt(string(tok), 10, 32); err == nil {
				out = append(out, int32(c))
			}
		}
	}
	return out
}

func (r *procfsReader) fds(_ context.Context, pid int32) int {
	d, err := os.Open(r.root + "/" + strconv.Itoa(int(pid)) + "/fd")
	if err != nil {
		return -1
	}
	defer d.Close()
	n := 0
	for {
		names, err := d.Readdirnames(256)
		n += len(names)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n
			}
			return -1
		}
	}
}
