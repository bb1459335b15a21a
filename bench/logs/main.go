// Command logs benchmarks the log store (core/logs) and prints a table:
//
//   - producer wall time for 1,000,000 lines written to /dev/null, to a pipe
//     drained by io.Copy, and to a pipe attached to the store (with rotation
//     at the 10 MiB default), for a block-buffered producer (as fast as it
//     can, with 12-byte and ~100-byte lines) and a line-buffered one (one
//     write per line, like most loggers);
//     the store run also counts the lines on disk (goal: 0 lost);
//   - a Since/Until query for a one-hour window in a 1 GiB log, next to
//     grep over the same file.
//
// Everything is generated in a temporary directory, removed at the end.
// Run: go run ./bench/logs [-lines N] [-runs N] [-gib F]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/velos-pm/velos/core/logs"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == "produce" {
		produce(os.Args[2], os.Args[3])
		return
	}
	lines := flag.Int("lines", 1_000_000, "lines per producer run")
	runs := flag.Int("runs", 5, "runs per measurement (the median is printed)")
	gib := flag.Float64("gib", 1, "size of the log for the query benchmark, in GiB")
	only := flag.String("only", "", `run only "producer" or "query"`)
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the queries to this file")
	flag.Parse()
	if err := run(*lines, *runs, *gib, *only, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// produce writes n numbered lines to stdout, block- or line-buffered.
func produce(mode, count string) {
	n, _ := strconv.Atoi(count)
	var w io.Writer = os.Stdout
	var bw *bufio.Writer
	text := "line "
	if mode == "block100" { // a typical access-log line, ~100 bytes
		text = "2026-11-27 01:26:31 INFO GET /api/v1/items?page=3 status=200 dur=12ms user=u12345 line "
		mode = "block"
	}
	if mode == "block" {
		bw = bufio.NewWriterSize(os.Stdout, 64<<10)
		w = bw
	}
	var b []byte
	for i := 1; i <= n; i++ {
		b = append(b[:0], text...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			os.Exit(1)
		}
	}
	if bw != nil {
		bw.Flush()
	}
}

func run(lines, runs int, gib float64, only, cpuprofile string) error {
	tmp, err := os.MkdirTemp("", "velos-bench-logs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	self, err := os.Executable()
	if err != nil {
		return err
	}

	if only != "query" {
		if err := producerBench(self, tmp, lines, runs); err != nil {
			return err
		}
	}
	if only == "producer" {
		return nil
	}
	fmt.Printf("\n## query: one-hour window in a %.1f GiB log (page cache warm)\n\n", gib)
	return queryBench(tmp, int64(gib*(1<<30)), runs, cpuprofile)
}

func producerBench(self, tmp string, lines, runs int) error {
	fmt.Printf("## producer: %d lines, median of %d runs\n\n", lines, runs)
	fmt.Printf("| producer | /dev/null | pipe + io.Copy | pipe + store | store / devnull | store / pipe | lost |\n|---|---|---|---|---|---|---|\n")
	for _, mode := range []string{"block", "block100", "line"} {
		var tNull, tPipe, tStore []time.Duration
		lost := 0
		for r := 0; r < runs; r++ {
			d, err := timeNull(self, mode, lines)
			if err != nil {
				return err
			}
			tNull = append(tNull, d)
			d, err = timePipe(self, mode, lines)
			if err != nil {
				return err
			}
			tPipe = append(tPipe, d)
			d, l, err := timeStore(self, mode, lines, filepath.Join(tmp, fmt.Sprintf("store-%s-%d", mode, r)))
			if err != nil {
				return err
			}
			tStore = append(tStore, d)
			lost += l
		}
		n, p, s := median(tNull), median(tPipe), median(tStore)
		fmt.Printf("| %s | %v | %v | %v | %.2f× | %.2f× | %d |\n", mode, n.Round(time.Millisecond), p.Round(time.Millisecond),
			s.Round(time.Millisecond), float64(s)/float64(n), float64(s)/float64(p), lost)
	}
	return nil
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func producer(self, mode string, n int) *exec.Cmd {
	return exec.Command(self, "produce", mode, strconv.Itoa(n))
}

func timeNull(self, mode string, n int) (time.Duration, error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	cmd := producer(self, mode, n)
	cmd.Stdout = null
	start := time.Now()
	err = cmd.Run()
	return time.Since(start), err
}

func timePipe(self, mode string, n int) (time.Duration, error) {
	cmd := producer(self, mode, n)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	io.Copy(io.Discard, out)
	err = cmd.Wait()
	return time.Since(start), err
}

// timeStore runs the producer with its stdout attached to a fresh store
// and returns the time until the producer exited and every line was
// written, and how many lines are missing from the files.
func timeStore(self, mode string, n int, dir string) (time.Duration, int, error) {
	s, err := logs.Open(logs.Options{Dir: dir, Keep: 100})
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	cmd := producer(self, mode, n)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	done := s.Attach("bench", logs.Out, out, nil)
	<-done
	if err := cmd.Wait(); err != nil {
		return 0, 0, err
	}
	d := time.Since(start)
	res, err := s.Query(context.Background(), logs.Query{Names: []string{"bench"}, Lines: -1, MaxLines: -1, MaxBytes: -1})
	if err != nil {
		return 0, 0, err
	}
	lost := n - len(res.Lines)
	for i, l := range res.Lines {
		if !strings.HasSuffix(l.Text, "line "+strconv.Itoa(i+1)) {
			return 0, 0, fmt.Errorf("line %d is %q", i, l.Text)
		}
	}
	os.RemoveAll(dir)
	return d, lost, nil
}

// queryBench writes a log of about size bytes in the store's format (lines
// every ~0.25 s over a month, ~100 bytes each) and times a one-hour query.
func queryBench(tmp string, size int64, runs int, cpuprofile string) error {
	dir := filepath.Join(tmp, "query")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, "big-out.log")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	const per = 82 // bytes per record, below
	count := size / per
	step := int64(30*24*time.Hour) / count
	genStart := time.Now()
	var b, prefix []byte
	lastSec := int64(-1)
	for i := int64(0); i < count; i++ {
		ns := base.UnixNano() + i*step
		if sec := ns / 1e9; sec != lastSec { // format the date once per second
			prefix = time.Unix(sec, 0).UTC().AppendFormat(prefix[:0], "2006-01-02T15:04:05.")
			lastSec = sec
		}
		b = append(b[:0], prefix...)
		b = appendPadded(b, ns%1e9, 9)
		b = append(b, "Z INFO GET /api/items/"...)
		b = appendPadded(b, i, 9)
		b = append(b, " 200 12ms user=u"...)
		b = appendPadded(b, i%100000, 5)
		b = append(b, '\n')
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fi, _ := os.Stat(path)
	fmt.Printf("generated %.2f GiB, %d lines, in %v\n\n", float64(fi.Size())/(1<<30), count, time.Since(genStart).Round(time.Millisecond))

	s, err := logs.Open(logs.Options{Dir: dir, MaxSize: 4 << 30})
	if err != nil {
		return err
	}
	defer s.Close()
	since := base.Add(15*24*time.Hour + 10*time.Hour) // 2026-10-16T10:00
	until := since.Add(time.Hour)
	if cpuprofile != "" {
		pf, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var tq, tqb, tg []time.Duration
	var nq, nqb int
	for r := 0; r < runs; r++ {
		start := time.Now()
		res, err := s.Query(context.Background(), logs.Query{Names: []string{"big"}, Since: since, Until: until, MaxLines: -1, MaxBytes: -1})
		if err != nil {
			return err
		}
		tq, nq = append(tq, time.Since(start)), len(res.Lines)
		start = time.Now()
		res, err = s.Query(context.Background(), logs.Query{Names: []string{"big"}, Since: since, Until: until})
		if err != nil {
			return err
		}
		tqb, nqb = append(tqb, time.Since(start)), len(res.Lines)
		start = time.Now()
		// The same hour as a prefix for grep, which has to read the file.
		out, err := exec.Command("grep", "-c", "^2026-10-16T10:", path).Output()
		if err != nil {
			return fmt.Errorf("grep: %w", err)
		}
		tg = append(tg, time.Since(start))
		if got, _ := strconv.Atoi(string(out[:len(out)-1])); got != nq {
			return fmt.Errorf("grep found %d lines, the query %d", got, nq)
		}
	}
	fmt.Printf("| what | lines | time (median of %d) |\n|---|---|---|\n", runs)
	fmt.Printf("| Query Since/Until, unbounded | %d | %v |\n", nq, median(tq).Round(10*time.Microsecond))
	fmt.Printf("| Query Since/Until, default bounds (%d lines / %d MiB) | %d | %v |\n", logs.DefaultMaxLines, logs.DefaultMaxBytes>>20, nqb, median(tqb).Round(10*time.Microsecond))
	fmt.Printf("| grep -c '^2026-10-16T10:' | %d | %v |\n", nq, median(tg).Round(time.Millisecond))
	return nil
}

func appendPadded(b []byte, v int64, width int) []byte {
	var d [20]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:width]...)
}
