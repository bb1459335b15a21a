package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// procStat is one process as a reader sees it at one instant.
type procStat struct {
	ppid int32
	// start identifies this incarnation of the pid: two procStats of the same
	// pid with different start values are different processes (the pid was
	// reused). Its unit is the reader's own; only equality matters.
	start   uint64
	created time.Time
	// cpu is the process's own user+system seconds.
	cpu float64
	// childCPU is the user+system seconds of children it has reaped (only
	// when the reader's withChildren() is true). The accounting uses it to
	// keep the CPU of descendants that lived and died between two samples.
	childCPU float64
	rss      uint64
	threads  int
	// zombie: exited but not yet reaped. Only the procfs reader sees it;
	// gopsutil would need another read per process.
	zombie bool
}

// procReader is what the sampler needs from the operating system. A reader is
// used by one sampling pass at a time (the sampler serialises passes), so
// implementations may keep per-pass state without locking.
type procReader interface {
	// begin starts a pass; readers that can only find children by scanning
	// every process do that scan here, once, instead of once per tree. With
	// trees false the pass reads single pids only and needs no scan.
	begin(ctx context.Context, trees bool) error
	stat(ctx context.Context, pid int32) (procStat, error)
	children(ctx context.Context, pid int32) []int32
	// fds is the number of open descriptors, or -1 when it cannot be read.
	fds(ctx context.Context, pid int32) int
	// withChildren reports whether procStat.childCPU is filled in.
	withChildren() bool
}

// psReader reads processes through gopsutil. It is the reader on every system
// but Linux, and on Linux the tests use it as an independent cross-check of
// the procfs reader.
type psReader struct {
	kids map[int32][]int32
}

func newPSReader() *psReader { return &psReader{} }

func (r *psReader) begin(ctx context.Context, trees bool) error {
	r.kids = nil
	if !trees {
		return nil
	}
	// gopsutil has no cheap "children of" on most systems (on Linux it scans
	// every process per call), so build the whole parent map once per pass.
	pids, err := process.PidsWithContext(ctx)
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	kids := make(map[int32][]int32, len(pids))
	for _, pid := range pids {
		p := &process.Process{Pid: pid}
		ppid, err := p.PpidWithContext(ctx)
		if err != nil || ppid == pid {
			continue // gone since listing, or a root that is its own parent
		}
		kids[ppid] = append(kids[ppid], pid)
	}
	r.kids = kids
	return nil
}

func (r *psReader) stat(ctx context.Context, pid int32) (procStat, error) {
	// A fresh Process each time: gopsutil caches CreateTime inside the value,
	// and a cached value would hide a reused pid.
	p, err := process.NewProcessWithContext(ctx, pid)
	if err != nil {
		return procStat{}, fmt.Errorf("process %d: %w", pid, err)
	}
	ct, err := p.CreateTimeWithContext(ctx)
	if err != nil {
		return procStat{}, fmt.Errorf("process %d create time: %w", pid, err)
	}
	st := procStat{start: uint64(ct), created: time.UnixMilli(ct)}
	if t, err := p.TimesWithContext(ctx); err == nil {
		st.cpu = t.User + t.System
	} else {
		return procStat{}, fmt.Errorf("process %d cpu times: %w", pid, err)
	}
	if mi, err := p.MemoryInfoWithContext(ctx); err == nil {
		st.rss = mi.RSS
	}
	if n, err := p.NumThreadsWithContext(ctx); err == nil {
		st.threads = int(n)
	}
	if pp, err := p.PpidWithContext(ctx); err == nil {
		st.ppid = pp
	}
	return st, nil
}

func (r *psReader) children(_ context.Context, pid int32) []int32 { return r.kids[pid] }

func (r *psReader) fds(ctx context.Context, pid int32) int {
	p := &process.Process{Pid: pid}
	n, err := p.NumFDsWithContext(ctx)
	if err != nil {
		return -1
	}
	return int(n)
}

// gopsutil's cpu.TimesStat has no children's fields, so childCPU stays 0.
func (r *psReader) withChildren() bool { return false }
