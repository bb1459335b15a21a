// Command soak runs the daemon under steady load and prints how its memory
// moves: a chatty app (10,000 numbered lines a second, 100 bytes each, into
// logs rotated at the 10 MiB default) and a crash-looping app (it prints a
// line and exits 1 after half a second, restarted at once, for ever) for
// -duration (default 10 minutes). Every -every (10 s) it samples the
// daemon's VmRSS and RssAnon (its private memory; the rest of RSS is clean
// pages of the binary), its file descriptors and the crash-looper's
// restarts. It prints the samples and the growth after -warmup as a table;
// at the end it reads the chatty app's kept log files and counts numbers
// missing or repeated. It asserts nothing.
//
// Run: go run ./bench/soak [-duration 10m] [-every 10s] [-warmup 1m] [-rate 10000]
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	duration := flag.Duration("duration", 10*time.Minute, "how long the load runs")
	every := flag.Duration("every", 10*time.Second, "how often the daemon is sampled")
	warmup := flag.Duration("warmup", time.Minute, "growth is counted from the first sample after this")
	rate := flag.Int("rate", 10000, "lines per second of the chatty app")
	flag.Parse()
	if err := run(*duration, *every, *warmup, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type sample struct {
	at        time.Duration
	rss, anon int64 // KiB
	fds       int
	restarts  int
}

func run(duration, every, warmup time.Duration, rate int) error {
	tmp, err := os.MkdirTemp("", "velos-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	velos, app := filepath.Join(tmp, "velos"), filepath.Join(tmp, "testapp")
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return fmt.Errorf("find the module (run from inside the repository): %w", err)
	}
	for bin, pkg := range map[string]string{velos: "./cmd/velos", app: "./internal/testapp"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Dir = strings.TrimSpace(string(root))
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", pkg, err, out)
		}
	}
	home := filepath.Join(tmp, "h")
	cli := func(args ...string) (string, error) {
		cmd := exec.Command(velos, args...)
		cmd.Env = append(os.Environ(), "VELOS_HOME="+home, "NO_COLOR=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("velos %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	defer func() { _, _ = cli("kill") }()

	if _, err := cli("start", app, "--name", "chatty", "--", "-chatty", strconv.Itoa(rate), "-line-bytes", "100"); err != nil {
		return err
	}
	// Restarted at once, and never declared a crash loop, so it crashes
	// for the whole run.
	if _, err := cli("start", "sh", "--name", "crasher", "--restart-delay", "1ms", "--max-restart-delay", "10ms",
		"--max-restarts", "1000000", "--", "-c", "echo crashing; sleep 0.5; exit 1"); err != nil {
		return err
	}
	pidb, err := os.ReadFile(filepath.Join(home, "daemon.pid"))
	if err != nil {
		return err
	}
	pid := strings.TrimSpace(string(pidb))

	fmt.Printf("soak: chatty %d lines/s + crash loop for %v, sampled every %v (daemon pid %s)\n\n", rate, duration, every, pid)
	fmt.Println("| time | daemon VmRSS | RssAnon (private) | fds | crasher restarts |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	var samples []sample
	start := time.Now()
	for t := time.Duration(0); t <= duration; t += every {
		time.Sleep(time.Until(start.Add(t)))
		s := sample{at: t}
		if s.rss, s.anon, err = memory(pid); err != nil {
			return err
		}
		ents, _ := os.ReadDir("/proc/" + pid + "/fd")
		s.fds = len(ents)
		out, err := cli("list", "--json")
		if err != nil {
			return err
		}
		var l struct {
			Processes []struct {
				Name     string `json:"name"`
				Restarts int    `json:"restarts"`
			} `json:"processes"`
		}
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			return err
		}
		for _, p := range l.Processes {
			if p.Name == "crasher" {
				s.restarts = p.Restarts
			}
		}
		samples = append(samples, s)
		fmt.Printf("| %v | %s | %s | %d | %d |\n", t.Round(time.Second), mib(s.rss), mib(s.anon), s.fds, s.restarts)
	}
	if _, err := cli("stop", "chatty"); err != nil {
		return err
	}

	var base *sample
	for i := range samples {
		if samples[i].at >= warmup {
			base = &samples[i]
			break
		}
	}
	last := samples[len(samples)-1]
	fmt.Println()
	// The garbage collector makes a sawtooth of a few hundred KiB, so
	// growth is also given between the means of the first and the last
	// minute after warm-up.
	fmt.Println("| after warm-up | from | to | growth | mean, first minute → last minute | max after warm-up |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	if base != nil {
		var maxRSS, maxAnon int64
		var first, final []sample
		for _, s := range samples {
			if s.at >= base.at {
				maxRSS, maxAnon = max(maxRSS, s.rss), max(maxAnon, s.anon)
			}
			if s.at >= base.at && s.at < base.at+time.Minute {
				first = append(first, s)
			}
			if s.at > last.at-time.Minute {
				final = append(final, s)
			}
		}
		mean := func(ss []sample, f func(sample) int64) int64 {
			var sum int64
			for _, s := range ss {
				sum += f(s)
			}
			return sum / int64(len(ss))
		}
		rss := func(s sample) int64 { return s.rss }
		anon := func(s sample) int64 { return s.anon }
		fmt.Printf("| VmRSS (%v → %v) | %s | %s | %s | %s → %s (%s) | %s |\n", base.at, last.at, mib(base.rss), mib(last.rss), mib(last.rss-base.rss),
			mib(mean(first, rss)), mib(mean(final, rss)), mib(mean(final, rss)-mean(first, rss)), mib(maxRSS))
		fmt.Printf("| RssAnon | %s | %s | %s | %s → %s (%s) | %s |\n", mib(base.anon), mib(last.anon), mib(last.anon-base.anon),
			mib(mean(first, anon)), mib(mean(final, anon)), mib(mean(final, anon)-mean(first, anon)), mib(maxAnon))
	}
	lines, missing, repeated, err := checkSeq(filepath.Join(home, "logs"), "chatty")
	if err != nil {
		return err
	}
	fmt.Printf("\nchatty: %d lines in the kept log files (rotation keeps the newest), %d numbers missing, %d repeated; crasher restarted %d times\n",
		lines, missing, repeated, last.restarts)
	return nil
}

// memory reads VmRSS and RssAnon of a process, in KiB.
func memory(pid string) (rss, anon int64, err error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, 0, fmt.Errorf("the daemon is gone: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v
		case "RssAnon:":
			anon = v
		}
	}
	return rss, anon, nil
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// checkSeq reads the chatty app's log files, oldest first, and counts the
// "seq N" numbers missing or repeated inside what rotation kept.
func checkSeq(dir, name string) (lines, missing, repeated int, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, 0, err
	}
	type file struct {
		seq  int64
		path string
	}
	var files []file
	for _, de := range ents {
		n := de.Name()
		switch {
		case n == name+"-out.log":
			files = append(files, file{1 << 62, n})
		case strings.HasPrefix(n, name+"-out.") && strings.HasSuffix(n, ".log"):
			seq, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(n, name+"-out."), ".log"), 10, 64)
			if err == nil {
				files = append(files, file{seq, n})
			}
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].seq < files[j].seq })
	prev := 0
	for _, f := range files {
		fh, err := os.Open(filepath.Join(dir, f.path))
		if err != nil {
			return 0, 0, 0, err
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			b := sc.Bytes()
			i := bytes.Index(b, []byte(" seq "))
			if i < 0 {
				continue
			}
			fs := strings.Fields(string(b[i+5:]))
			if len(fs) == 0 {
				continue
			}
			n, err := strconv.Atoi(fs[0])
			if err != nil {
				continue
			}
			lines++
			switch {
			case prev == 0:
			case n == prev+1:
			case n <= prev:
				repeated++
			default:
				missing += n - prev - 1
			}
			prev = n
		}
		fh.Close()
		if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
			return 0, 0, 0, err
		}
	}
	return lines, missing, repeated, nil
}
