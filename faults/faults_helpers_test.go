//go:build linux && faults

package faults

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// adoptionLanded turns on the assertions of issue 12 item 2: a daemon
// started after one was killed finds the processes it left running, adopts
// them (listed once, stoppable) and never starts them twice. Until that is
// built, those assertions run as "adoption" subtests that skip, saying so;
// what holds today is asserted always.
const adoptionLanded = true

// expectAdoption runs the future assertions as a subtest.
func expectAdoption(t *testing.T, f func(t *testing.T)) {
	t.Run("adoption", func(t *testing.T) {
		if !adoptionLanded {
			t.Skip("a new daemon does not adopt the processes a killed one left (issue 12 item 2); set adoptionLanded when it does")
		}
		f(t)
	})
}

// waitFor polls cond until it holds: the daemon is another process, so
// there is no channel to wait on; d bounds it.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// daemonPID is the running daemon's pid, from its pid file.
func (e *env) daemonPID() int {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.Home, "daemon.pid"))
	if err != nil {
		e.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		e.t.Fatalf("daemon.pid: %q", b)
	}
	return pid
}

// killDaemon sends SIGKILL to the daemon and returns once it is gone.
func (e *env) killDaemon() {
	e.t.Helper()
	pid := e.daemonPID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		e.t.Fatalf("kill -9 daemon %d: %v", pid, err)
	}
	waitFor(e.t, "the killed daemon to be gone", 10*time.Second, func() bool { return !alive(pid) })
	// Its leader thread is a zombie before the others have exited and let
	// go of its descriptors: gone means its socket refuses (or a new daemon,
	// started by a client meanwhile, holds the home).
	waitFor(e.t, "the killed daemon's socket to refuse", 10*time.Second, func() bool {
		c, err := net.Dial("unix", filepath.Join(e.Home, "velos.sock"))
		if err == nil {
			c.Close()
		}
		b, _ := os.ReadFile(filepath.Join(e.Home, "daemon.pid"))
		return err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(pid)
	})
}

// waitDaemonLog waits until daemon.log holds a line matching re.
func (e *env) waitDaemonLog(re string, d time.Duration) {
	e.t.Helper()
	rx := regexp.MustCompile(re)
	waitFor(e.t, "daemon.log to say "+re, d, func() bool {
		b, _ := os.ReadFile(filepath.Join(e.Home, "daemon.log"))
		return rx.Match(b)
	})
}

// countDaemonLog counts the lines of daemon.log matching re.
func (e *env) countDaemonLog(re string) int {
	b, _ := os.ReadFile(filepath.Join(e.Home, "daemon.log"))
	return len(regexp.MustCompile(re).FindAll(b, -1))
}

// project writes a velos.toml of the given processes, each running sleep.
func project(t *testing.T, names []string, extra string) string {
	t.Helper()
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "[process.%s]\nscript = \"sleep\"\nargs = [\"1000\"]\n%s\n", n, extra)
	}
	path := filepath.Join(t.TempDir(), "velos.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%02d", prefix, i+1)
	}
	return out
}

// startDaemon runs `velos daemon` in the foreground, behind the wrapper
// command given (unshare, prlimit …) and with more environment, and
// returns once its socket answers. The daemon's output goes to out.
func (e *env) startDaemon(wrap []string, extraEnv []string) *exec.Cmd {
	e.t.Helper()
	args := append(append([]string{}, wrap...), e.Bin, "daemon")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(append(os.Environ(), "VELOS_HOME="+e.Home), extraEnv...)
	logf, err := os.OpenFile(filepath.Join(e.Home, "daemon.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		e.t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	e.t.Cleanup(func() {
		e.Run("kill")
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	waitFor(e.t, "the daemon's socket", 15*time.Second, func() bool {
		select {
		case <-done:
			out, _ := os.ReadFile(filepath.Join(e.Home, "daemon.out"))
			e.t.Fatalf("the daemon exited: %s", out)
		default:
		}
		c, err := net.Dial("unix", filepath.Join(e.Home, "velos.sock"))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return cmd
}

// record is one line of a log file.
type record struct {
	file string
	text string
}

// stampRe is the start of every record: the arrival stamp and a separator.
var stampRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z[ +]`)

// readLogs reads every log file of name in dir (rotated ones oldest first,
// gzipped ones decompressed, the current one last) and checks that each
// holds whole records only. A current file may end inside a record only
// when tornTail allows it (a daemon killed mid-write); it returns how many
// such tails it saw.
func readLogs(t *testing.T, dir, name string, tornTail bool) (recs []record, torn int) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	type file struct {
		seq  int64
		path string
	}
	var files []file
	cur := name + "-out.log"
	for _, de := range ents {
		n := de.Name()
		switch {
		case n == cur:
			files = append(files, file{1 << 62, n})
		case strings.HasPrefix(n, name+"-out.") && strings.HasSuffix(n, ".gz.tmp"):
			t.Logf("%s: an unfinished compression (readers skip it; the next one redoes it)", n)
		case strings.HasPrefix(n, name+"-out."):
			seq, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(n, name+"-out."), ".gz"), ".log"), 10, 64)
			if err != nil {
				t.Fatalf("unexpected log file %s", n)
			}
			if strings.HasSuffix(n, ".log") {
				if _, err := os.Stat(filepath.Join(dir, n+".gz")); err == nil {
					continue // compressed, the plain one not yet removed
				}
			}
			files = append(files, file{seq, n})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].seq < files[j].seq })
	for _, f := range files {
		var r io.Reader
		fh, err := os.Open(filepath.Join(dir, f.path))
		if err != nil {
			t.Fatal(err)
		}
		r = fh
		if strings.HasSuffix(f.path, ".gz") {
			if r, err = gzip.NewReader(fh); err != nil {
				t.Fatalf("%s: %v", f.path, err)
			}
		}
		b, err := io.ReadAll(r)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.path, err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			if !tornTail || f.seq != 1<<62 {
				t.Fatalf("%s ends inside a record: %q", f.path, b[max(0, len(b)-60):])
			}
			torn++
			b = b[:bytes.LastIndexByte(b, '\n')+1]
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 256<<10), 256<<10)
		for sc.Scan() {
			line := sc.Text()
			if !stampRe.MatchString(line) {
				t.Fatalf("%s: a torn or foreign record: %q", f.path, line)
			}
			recs = append(recs, record{file: f.path, text: line[31:]})
		}
	}
	return recs, torn
}

// seqRuns splits the "seq N" numbers of the records into runs of the
// program (each restart counts from 1 again) and checks that inside a run
// no number is missing or repeated. It returns each run's first and last.
func seqRuns(t *testing.T, recs []record) [][2]int {
	t.Helper()
	var runs [][2]int
	for _, r := range recs {
		f := strings.Fields(r.text)
		if len(f) < 2 || f[0] != "seq" {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("%s: %q", r.file, r.text)
		}
		// A run begins with the first record kept (older ones may be
		// pruned) or with seq 1 (the program started again).
		if len(runs) == 0 || n == 1 {
			runs = append(runs, [2]int{n, n})
			continue
		}
		if last := runs[len(runs)-1][1]; n != last+1 {
			t.Fatalf("%s: seq %d follows %d (lost, repeated or out of order)", r.file, n, last)
		}
		runs[len(runs)-1][1] = n
	}
	return runs
}

// ctx is a bound for MCP calls in the fault tests.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}
