package metrics

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// statLine builds a /proc/<pid>/stat line with the fields the reader uses.
func statLine(pid, ppid int, comm, state string, utime, stime, cutime, cstime, threads, start, rssPages uint64) string {
	// Fields 3..24 of proc(5); unused ones are 0.
	f := make([]string, 22)
	for i := range f {
		f[i] = "0"
	}
	set := func(field int, v string) { f[field-3] = v }
	set(3, state)
	set(4, strconv.Itoa(ppid))
	set(14, fmt.Sprint(utime))
	set(15, fmt.Sprint(stime))
	set(16, fmt.Sprint(cutime))
	set(17, fmt.Sprint(cstime))
	set(20, fmt.Sprint(threads))
	set(22, fmt.Sprint(start))
	set(24, fmt.Sprint(rssPages))
	line := fmt.Sprintf("%d (%s)", pid, comm)
	for _, v := range f {
		line += " " + v
	}
	return line + " 0 0 0 0 0\n" // trailing fields the reader ignores
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParseStatOddCommand(t *testing.T) {
	line := statLine(42, 1, "my) (app", "S", 150, 50, 30, 20, 4, 12345, 1000)
	st, err := parseStat([]byte(line), 4096, time.Unix(1000, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := procStat{ppid: 1, start: 12345, created: time.Unix(1000, 0).Add(123450 * time.Millisecond),
		cpu: 2, childCPU: 0.5, rss: 1000 * 4096, threads: 4}
	if st != want {
		t.Fatalf("parseStat = %+v\nwant       %+v", st, want)
	}
	if z, _ := parseStat([]byte(statLine(7, 1, "z", "Z", 0, 0, 0, 0, 1, 1, 0)), 4096, time.Time{}); !z.zombie {
		t.Fatal("state Z not reported as zombie")
	}
	if _, err := parseStat([]byte("42 (short) S 1 2"), 4096, time.Time{}); err == nil {
		t.Fatal("a truncated stat must be an error")
	}
}

// TestProcfsChildrenFiles exercises the /proc/<pid>/task/<tid>/children path
// (CONFIG_PROC_CHILDREN), which the machine running the tests may lack, on a
// fake procfs: leader 100 with threads 100 and 101; 101 forked 200; 200
// forked 300.
func TestProcfsChildrenFiles(t *testing.T) {
	root := t.TempDir()
	self := strconv.Itoa(os.Getpid())
	writeFile(t, filepath.Join(root, self, "task", self, "children"), "") // marks the feature present
	writeFile(t, filepath.Join(root, self, "stat"), statLine(os.Getpid(), 1, "velos", "S", 10, 0, 0, 0, 8, 1, 100))
	writeFile(t, filepath.Join(root, "stat"), "cpu 1 2 3\nbtime 1700000000\n")
	procs := []struct {
		pid, ppid int
		tids      []string
		kids      map[string]string
		utime     uint64
		rssPages  uint64
	}{
		{100, 1, []string{"100", "101"}, map[string]string{"101": "200 "}, 100, 256},
		{200, 100, []string{"200"}, map[string]string{"200": "300"}, 200, 512},
		{300, 200, []string{"300"}, nil, 300, 1024},
	}
	for _, p := range procs {
		dir := filepath.Join(root, strconv.Itoa(p.pid))
		writeFile(t, filepath.Join(dir, "stat"), statLine(p.pid, p.ppid, "app", "S", p.utime, 0, 0, 0, uint64(len(p.tids)), uint64(p.pid), p.rssPages))
		for _, tid := range p.tids {
			writeFile(t, filepath.Join(dir, "task", tid, "children"), p.kids[tid])
		}
		for fd := range 3 {
			writeFile(t, filepath.Join(dir, "fd", strconv.Itoa(fd)), "")
		}
	}
	r := newProcfsReader(root)
	if !r.childFiles {
		t.Fatal("children files not detected")
	}
	if want := time.Unix(1700000000, 0); !r.boot.Equal(want) {
		t.Fatalf("boot = %v, want %v", r.boot, want)
	}
	s := newSampler(Options{}, r)
	out, err := s.Sample(t.Context(), []Target{{Key: "app", PID: 100}})
	if err != nil {
		t.Fatal(err)
	}
	got := out[0]
	page := uint64(os.Getpagesize())
	if !got.Alive || got.Procs != 3 || got.Threads != 4 || got.FDs != 9 || got.RSS != (256+512+1024)*page || got.CPUSeconds != 6 {
		t.Fatalf("sample = %+v; want 3 procs, 4 threads, 9 fds, %d bytes, 6 cpu s", got, (256+512+1024)*page)
	}
	if want := time.Unix(1700000000, 0).Add(time.Second); !got.Created.Equal(want) {
		t.Fatalf("created = %v, want %v (boot + 100 ticks)", got.Created, want)
	}
}
