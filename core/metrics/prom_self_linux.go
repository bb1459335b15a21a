package metrics

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strconv"
)

// selfFamilies are the daemon's own process_* series, under the names
// client_golang's process collector uses, read from /proc/self.
func selfFamilies() []*family {
	r := newProcfsReader("/proc")
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil
	}
	st, err := parseStat(b, r.pageSize, r.boot)
	if err != nil {
		return nil
	}
	one := func(name, typ, help string, v float64) *family {
		f := &family{name: name, help: help, typ: typ}
		f.add(v)
		return f
	}
	fams := []*family{
		one("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", st.cpu),
		one("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", float64(st.rss)),
	}
	if v, ok := statField(b, 23); ok {
		fams = append(fams, one("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", float64(v)))
	}
	if !st.created.IsZero() {
		fams = append(fams, one("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", float64(st.created.UnixMilli())/1e3))
	}
	if n := r.fds(context.Background(), int32(os.Getpid())); n >= 0 {
		fams = append(fams, one("process_open_fds", "gauge", "Number of open file descriptors.", float64(n)))
	}
	if n, ok := maxOpenFiles(); ok {
		fams = append(fams, one("process_max_fds", "gauge", "Maximum number of open file descriptors.", float64(n)))
	}
	return fams
}

// statField is field n (proc(5) numbering) of a stat line.
func statField(b []byte, n int) (uint64, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if n-3 >= len(f) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(f[n-3]), 10, 64)
	return v, err == nil
}

// maxOpenFiles is the soft limit of open files from /proc/self/limits.
func maxOpenFiles() (uint64, bool) {
	f, err := os.Open("/proc/self/limits")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("Max open files")); ok {
			fs := bytes.Fields(rest)
			if len(fs) > 0 {
				v, err := strconv.ParseUint(string(fs[0]), 10, 64)
				return v, err == nil
			}
		}
	}
	return 0, false
}
