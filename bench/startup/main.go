// Command startup prints the table of issue 11 — what a CLI call and an idle
// daemon cost — for velos and PM2 side by side, measured in one run on one
// machine (ratios survive a busy machine better than absolute numbers), with
// a Go hello-world as the floor of a process start. It records and asserts
// nothing; see the README's Performance section.
//
//	go run ./bench/startup [-runs 50] [-bin DIR] [-before REF] [-pm2 PATH|off]
//
// -bin takes velos and velosd from DIR instead of building them (as make
// build does: static, stripped). -before REF also measures the velos of a
// git ref, built from `git archive` (a ref from before the split has one
// binary, whose daemon is `velos daemon`). PM2 comes from npm into the user
// cache folder the tests share (testenv.InstallPM2) unless -pm2 names a pm2
// or turns it off; without npm its column says so.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/velos-pm/velos/internal/testenv"
)

func main() {
	runs := flag.Int("runs", 50, "runs per timed command (the median is shown)")
	bin := flag.String("bin", "", "folder holding velos and velosd (default: build them)")
	before := flag.String("before", "", "also measure the velos of this git ref")
	pm2 := flag.String("pm2", "", `pm2 binary to use, or "off" (default: install PM2 from npm)`)
	flag.Parse()
	if err := run(*runs, *bin, *before, *pm2); err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(1)
	}
}

// subject is one process manager under measurement.
type subject struct {
	name string
	// cli runs the CLI with args; version, list and jlist are its spellings.
	cli                  string
	version, list, jlist []string
	start                func(name string) error
	daemonPID            func() (int, error)
	env                  []string
	stop                 func()
}

// result is what was measured of one subject.
type result struct {
	version, firstCall, jlist10, list100 time.Duration
	// The fastest run of each: what a call costs when the machine lets it
	// run at once (the medians carry the waits of a shared machine).
	versionMin, jlist10Min, list100Min time.Duration
	cliRSS                             int64 // peak RSS of list --json with 10 processes, bytes
	idle, busy                         mem   // daemon with 0 and 100 processes
	err                                string
}

type mem struct{ rss, anon, pss int64 }

func run(runs int, bin, before, pm2 string) error {
	work, err := os.MkdirTemp("", "velos-startup-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	root, err := repoRoot()
	if err != nil {
		return err
	}
	hello, err := buildHello(work)
	if err != nil {
		return err
	}
	if bin == "" {
		bin = filepath.Join(work, "now")
		if err := build(root, bin); err != nil {
			return err
		}
	} else if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	subjects := []*subject{velos("velos", bin, filepath.Join(work, "home-now"))}
	if before != "" {
		dir := filepath.Join(work, "before")
		if err := archive(root, before, dir); err != nil {
			return err
		}
		if err := build(dir, filepath.Join(dir, "bin")); err != nil {
			return err
		}
		s := velos("velos "+before, filepath.Join(dir, "bin"), filepath.Join(work, "home-before"))
		s.version = []string{"version"} // --version came with the split
		subjects = append(subjects, s)
	}
	pm2Note := "PM2 not measured (-pm2 off)"
	if pm2 != "off" {
		if pm2 == "" {
			pm2, err = testenv.InstallPM2() // the install the tests and bench/reload share
		}
		if err != nil {
			pm2Note = "PM2 not measured: " + err.Error()
		} else {
			subjects = append(subjects, pm2Subject(pm2, filepath.Join(work, "pm2-home")))
			pm2Note = ""
		}
	}

	floor := timed(runs, hello, nil, nil)
	results := map[*subject]*result{}
	for _, s := range subjects {
		r := measure(s, runs)
		results[s] = r
		s.stop()
	}
	printTable(subjects, results, floor, pm2Note, runs)
	return nil
}

// measure takes every figure of s, in the order a user meets them.
func measure(s *subject, runs int) *result {
	r := &result{}
	v := timed(runs, s.cli, s.version, s.env)
	r.version, r.versionMin = v.median, v.min
	// The first call starts the daemon: one run, it is not repeatable.
	t0 := time.Now()
	if out, err := s.run(s.list...); err != nil {
		r.err = fmt.Sprintf("%s: %v: %s", strings.Join(s.list, " "), err, out)
		return r
	}
	r.firstCall = time.Since(t0)
	settle(3 * time.Second)
	r.idle = daemonMem(s)
	for i := range 10 {
		if err := s.start(fmt.Sprintf("s%d", i)); err != nil {
			r.err = err.Error()
			return r
		}
	}
	settle(2 * time.Second)
	j := timed(runs, s.cli, s.jlist, s.env)
	r.jlist10, r.jlist10Min, r.cliRSS = j.median, j.min, j.rss
	for i := 10; i < 100; i++ {
		if err := s.start(fmt.Sprintf("s%d", i)); err != nil {
			r.err = err.Error()
			return r
		}
	}
	settle(5 * time.Second)
	l := timed(runs, s.cli, s.list, s.env)
	r.list100, r.list100Min = l.median, l.min
	r.busy = daemonMem(s)
	return r
}

// settle lets a daemon finish what a burst of commands set off (sampling
// passes, log files): the figures are of a daemon at rest.
func settle(d time.Duration) { time.Sleep(d) }

func (s *subject) run(args ...string) ([]byte, error) {
	cmd := exec.Command(s.cli, args...)
	cmd.Env = append(os.Environ(), s.env...)
	return cmd.CombinedOutput()
}

type timing struct {
	median, min time.Duration
	rss         int64 // median peak RSS, bytes
}

// timed runs cli args runs times and returns the median wall time and
// peak RSS (stdout discarded, as a script piping it would not be).
func timed(runs int, cli string, args, env []string) timing {
	var ds []time.Duration
	for range runs {
		cmd := exec.Command(cli, args...)
		cmd.Env = append(os.Environ(), env...)
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			continue
		}
		ds = append(ds, time.Since(t0))
	}
	if len(ds) == 0 {
		return timing{}
	}
	slices.Sort(ds)
	return timing{median: ds[len(ds)/2], min: ds[0], rss: peakRSS(min(runs, 10), cli, args, env)}
}

// peakRSS is the median peak RSS of cli args, measured by GNU time. Not by
// this program's own wait4: Go starts a child with vfork (CLONE_VM), and
// Linux counts the parent's resident set, whose address space the child
// ran in until exec, into the child's ru_maxrss — about 8 MiB of this
// benchmark in every figure, a Go hello-world's 1.8 MiB included. GNU time
// forks, so its child starts from time's own 1 MiB. Without /usr/bin/time
// (Debian package time) the rusage figure is given, marked by rssNote.
func peakRSS(runs int, cli string, args, env []string) int64 {
	var rss []int64
	for range runs {
		var cmd *exec.Cmd
		out := filepath.Join(os.TempDir(), fmt.Sprintf("velos-startup-rss-%d", os.Getpid()))
		if gnuTime != "" {
			cmd = exec.Command(gnuTime, append([]string{"-f", "%M", "-o", out, cli}, args...)...)
		} else {
			cmd = exec.Command(cli, args...)
		}
		cmd.Env = append(os.Environ(), env...)
		if err := cmd.Run(); err != nil {
			continue
		}
		if gnuTime == "" {
			rss = append(rss, maxRSS(cmd.ProcessState))
			continue
		}
		b, err := os.ReadFile(out)
		os.Remove(out)
		if kb, err2 := strconv.ParseInt(strings.TrimSpace(lastLine(b)), 10, 64); err == nil && err2 == nil {
			rss = append(rss, kb<<10)
		}
	}
	if len(rss) == 0 {
		return 0
	}
	slices.Sort(rss)
	return rss[len(rss)/2]
}

// gnuTime is GNU time's path, "" where it is not installed.
var gnuTime = func() string {
	if p, err := exec.LookPath("/usr/bin/time"); err == nil {
		return p
	}
	return ""
}()

func rssNote() string {
	if gnuTime != "" {
		return "peak RSS by GNU time"
	}
	return "peak RSS by wait4, which counts this program's ~8 MiB (vfork; install the Debian package time for the child's own)"
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// daemonMem reads the daemon's resident set: VmRSS and RssAnon from status,
// Pss from smaps_rollup (its share of pages it shares with others).
func daemonMem(s *subject) mem {
	pid, err := s.daemonPID()
	if err != nil {
		return mem{}
	}
	var m mem
	read := func(file string, fields map[string]*int64) {
		f, err := os.Open(fmt.Sprintf("/proc/%d/%s", pid, file))
		if err != nil {
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if p := fields[k]; ok && p != nil {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				*p = n << 10
			}
		}
	}
	read("status", map[string]*int64{"VmRSS": &m.rss, "RssAnon": &m.anon})
	read("smaps_rollup", map[string]*int64{"Pss": &m.pss})
	return m
}

// velos is the velos in dir with its own VELOS_HOME.
func velos(name, dir, home string) *subject {
	cli := filepath.Join(dir, "velos")
	s := &subject{name: name, cli: cli, env: []string{"VELOS_HOME=" + home, "NO_COLOR=1"},
		version: []string{"--version"}, list: []string{"list"}, jlist: []string{"list", "--json"}}
	s.start = func(n string) error {
		if out, err := s.run("start", "sleep", "--name", n, "--", "100000"); err != nil {
			return fmt.Errorf("velos start %s: %v: %s", n, err, out)
		}
		return nil
	}
	s.daemonPID = func() (int, error) { return pidFile(filepath.Join(home, "daemon.pid")) }
	s.stop = func() { _, _ = s.run("kill") }
	return s
}

// pm2Subject is the pm2 binary with its own PM2_HOME.
func pm2Subject(pm2, home string) *subject {
	s := &subject{name: "PM2", cli: pm2, env: []string{"PM2_HOME=" + home},
		version: []string{"--version"}, list: []string{"list"}, jlist: []string{"jlist"}}
	s.start = func(n string) error {
		if out, err := s.run("start", "sleep", "--name", n, "--interpreter", "none", "--", "100000"); err != nil {
			return fmt.Errorf("pm2 start %s: %v: %s", n, err, out)
		}
		return nil
	}
	s.daemonPID = func() (int, error) { return pidFile(filepath.Join(home, "pm2.pid")) }
	s.stop = func() { _, _ = s.run("kill") }
	return s
}

func pidFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// build builds velos (and velosd, when the tree has it) into dir as make
// build does.
func build(root, dir string) error {
	pkgs := []string{"./cmd/velos"}
	if _, err := os.Stat(filepath.Join(root, "cmd", "velosd")); err == nil {
		pkgs = append(pkgs, "./cmd/velosd")
	}
	cmd := exec.Command("go", append([]string{"build", "-trimpath", "-ldflags", "-s -w", "-o", dir + string(filepath.Separator)}, pkgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", root, err, out)
	}
	return nil
}

// archive extracts the tree of git ref into dir.
func archive(root, ref, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	gitArchive := exec.Command("git", "archive", ref)
	gitArchive.Dir = root
	tar := exec.Command("tar", "-x", "-C", dir)
	pipe, err := gitArchive.StdoutPipe()
	if err != nil {
		return err
	}
	tar.Stdin = pipe
	var stderr bytes.Buffer
	gitArchive.Stderr, tar.Stderr = &stderr, &stderr
	if err := tar.Start(); err != nil {
		return err
	}
	if err := gitArchive.Run(); err != nil {
		return fmt.Errorf("git archive %s: %v: %s", ref, err, stderr.String())
	}
	return tar.Wait()
}

func buildHello(work string) (string, error) {
	dir := filepath.Join(work, "hello")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	src := "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hello\\n\") }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", "hello", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build hello: %v\n%s", err, out)
	}
	return filepath.Join(dir, "hello"), nil
}

// goal is one row's goal: at most max of what the row measures.
type goal struct {
	max  float64
	unit string // "ms" or "MiB"
}

func printTable(subjects []*subject, results map[*subject]*result, floor timing, pm2Note string, runs int) {
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("\nCLI times are medians of %d runs, the fastest run in brackets; a Go hello-world starts in %s (%s) here (%.1f MiB; %s). Load average: %s\n\n",
		runs, ms(floor.median), ms(floor.min), mib(floor.rss), rssNote(), strings.Join(strings.Fields(string(load))[:3], " "))
	var velosNow, pm2 *subject
	for _, s := range subjects {
		switch {
		case s.name == "PM2":
			pm2 = s
		case velosNow == nil:
			velosNow = s
		}
	}
	head := "| figure |"
	sep := "| --- |"
	for _, s := range subjects {
		head += " " + s.name + " |"
		sep += " --- |"
	}
	if pm2 != nil {
		head += " PM2 ÷ velos |"
		sep += " --- |"
	}
	head += " goal | met? |"
	sep += " --- | --- |"
	fmt.Println(head)
	fmt.Println(sep)
	type row struct {
		name string
		get  func(*result) float64 // ms or MiB
		low  func(*result) float64 // the fastest run, for times; nil for others
		goal goal
		unit string
	}
	rows := []row{
		{"`velos --version` (no daemon call)", func(r *result) float64 { return msf(r.version) }, func(r *result) float64 { return msf(r.versionMin) }, goal{2, "ms"}, "ms"},
		{"first call (starts the daemon)", func(r *result) float64 { return msf(r.firstCall) }, nil, goal{}, "ms"},
		{"`velos list --json`, 10 processes (PM2: jlist)", func(r *result) float64 { return msf(r.jlist10) }, func(r *result) float64 { return msf(r.jlist10Min) }, goal{3, "ms"}, "ms"},
		{"`velos list`, 100 processes", func(r *result) float64 { return msf(r.list100) }, func(r *result) float64 { return msf(r.list100Min) }, goal{6, "ms"}, "ms"},
		{"CLI peak RSS (list --json, 10 processes)", func(r *result) float64 { return mib(r.cliRSS) }, nil, goal{8, "MiB"}, "MiB"},
		{"daemon RSS, idle", func(r *result) float64 { return mib(r.idle.rss) }, nil, goal{10, "MiB"}, "MiB"},
		{"daemon RssAnon, idle", func(r *result) float64 { return mib(r.idle.anon) }, nil, goal{4, "MiB"}, "MiB"},
		{"daemon PSS, idle", func(r *result) float64 { return mib(r.idle.pss) }, nil, goal{}, "MiB"},
		{"daemon RSS, 100 processes", func(r *result) float64 { return mib(r.busy.rss) }, nil, goal{14, "MiB"}, "MiB"},
		{"daemon RssAnon, 100 processes", func(r *result) float64 { return mib(r.busy.anon) }, nil, goal{}, "MiB"},
		{"daemon PSS, 100 processes", func(r *result) float64 { return mib(r.busy.pss) }, nil, goal{}, "MiB"},
	}
	for _, rw := range rows {
		line := "| " + rw.name + " |"
		for _, s := range subjects {
			r := results[s]
			if r.err != "" {
				line += " error |"
				continue
			}
			line += " " + format(rw.get(r), rw.unit)
			if rw.low != nil && rw.low(r) > 0 {
				line += " (" + format(rw.low(r), rw.unit) + ")"
			}
			line += " |"
		}
		if pm2 != nil {
			v, p := rw.get(results[velosNow]), rw.get(results[pm2])
			if v > 0 && p > 0 && results[pm2].err == "" {
				line += fmt.Sprintf(" %.1f× |", p/v)
			} else {
				line += " — |"
			}
		}
		if rw.goal.max == 0 {
			line += " | |"
		} else {
			v := rw.get(results[velosNow])
			verdict := "yes"
			if v > rw.goal.max {
				verdict = fmt.Sprintf("no, +%.0f%%", 100*(v/rw.goal.max-1))
			}
			line += fmt.Sprintf(" ≤ %s %s | %s |", trim(rw.goal.max), rw.goal.unit, verdict)
		}
		fmt.Println(line)
	}
	for _, s := range subjects {
		if e := results[s].err; e != "" {
			fmt.Printf("\n%s: %s\n", s.name, e)
		}
	}
	if pm2Note != "" {
		fmt.Println("\n" + pm2Note)
	}
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func ms(d time.Duration) string   { return format(msf(d), "ms") }
func mib(b int64) float64         { return float64(b) / (1 << 20) }

func format(v float64, unit string) string {
	if v == 0 {
		return "—"
	}
	if unit == "ms" && v >= 100 {
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

func trim(f float64) string {
	if f == math.Trunc(f) {
		return strconv.Itoa(int(f))
	}
	return fmt.Sprint(f)
}
