package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/velos-pm/velos/core/insight"
	"github.com/velos-pm/velos/internal/loghub"
)

// perLineBench measures `velos logs --file F --patterns --per-line --json`
// on a file of n lines made by cycling the Loghub 2k messages with their
// digits varied (the datasets stay outside the repository; without them
// the generated service log is used), for velos and, when given, a
// baseline velos binary in the same run.
func perLineBench(n int, velos, baseline string) error {
	dir, err := os.MkdirTemp("", "velos-perline")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "cycled.log")
	src, err := writeCycled(path, n)
	if err != nil {
		return err
	}
	if velos == "" {
		velos = filepath.Join(dir, "velos")
		if out, err := exec.Command("go", "build", "-o", velos, "./cmd/velos").CombinedOutput(); err != nil {
			return fmt.Errorf("build velos: %v\n%s", err, out)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Printf("\n--per-line on %d lines (%.0f MB, %s)\n", n, float64(fi.Size())/1e6, src)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "binary\twall\tcpu\tlines/s(cpu)\tmax RSS\t\n")
	for _, b := range []struct{ name, bin string }{{"velos", velos}, {"baseline", baseline}} {
		if b.bin == "" {
			continue
		}
		cmd := exec.Command(b.bin, "logs", "--file", path, "--patterns", "--per-line", "--json")
		cmd.Env = append(os.Environ(), "VELOS_HOME="+filepath.Join(dir, "home-"+b.name))
		cmd.Stdout = io.Discard
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", b.bin, err)
		}
		wall := time.Since(start)
		cpu, rss := childUsage(cmd.ProcessState)
		fmt.Fprintf(w, "%s\t%s\t%s\t%.0f\t%.1f MiB\t\n", b.name, wall.Round(time.Millisecond), cpu.Round(time.Millisecond),
			float64(n)/cpu.Seconds(), float64(rss)/(1<<20))
	}
	w.Flush()
	fmt.Println("lines/s(cpu) counts the CPU time of both passes (user+system) of the one velos process; max RSS is that process's.")
	return nil
}

// writeCycled writes n lines to path and says where they came from.
func writeCycled(path string, n int) (string, error) {
	var base []string
	src := "Loghub 2k messages of 10 systems, cycled, digits varied"
	sets, err := loghub.Load(loghub.Dir())
	switch {
	case errors.Is(err, loghub.ErrMissing):
		src = "generated service log (Loghub datasets absent)"
		ls, _ := generate(20000)
		for _, l := range ls {
			base = append(base, l.Text)
		}
	case err != nil:
		return "", err
	default:
		for _, s := range sets {
			base = append(base, s.Contents...)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var line []byte
	for i := 0; i < n; i++ {
		cycle := byte(i / len(base))
		line = append(line[:0], base[i%len(base)]...)
		for k, c := range line {
			if c >= '0' && c <= '9' {
				line[k] = '0' + (c-'0'+cycle)%10
			}
		}
		bw.Write(line)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return "", err
	}
	return src, f.Close()
}

// lineMinerBench is the per-line engine alone, in memory: both passes of
// insight.LineMiner over lines, CPU time per line.
func lineMinerBench(lines []string) (time.Duration, int) {
	lm := insight.NewLineMiner(insight.MinerConfig{})
	cpu0 := cpuTime()
	for _, l := range lines {
		lm.Add(l)
	}
	groups := map[*insight.Group]bool{}
	for _, l := range lines {
		groups[lm.Group(l)] = true
	}
	return cpuTime() - cpu0, len(groups)
}
