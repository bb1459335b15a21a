package export

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// systemdAnalyze returns the path of systemd-analyze, or skips.
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (.ci/run installs the systemd package)")
	}
	return sa
}

// verifyUnits writes files to a folder and runs systemd-analyze verify on
// every unit, templates through one instance each. It returns the lines
// that name one of the units: verify exits 0 on much it only warns about.
func verifyUnits(t *testing.T, files []File) string {
	t.Helper()
	sa := systemdAnalyze(t)
	dir := t.TempDir()
	var args, names []string
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), []byte(f.Content), 0o644); err != nil {
			t.Fatal(err)
		}
		if f.Secret {
			continue
		}
		names = append(names, f.Name)
		if strings.Contains(f.Name, "@.") {
			// A template is checked as an instance, found beside the files.
			inst := strings.Replace(f.Name, "@.", "@0.", 1)
			args = append(args, inst)
			names = append(names, inst)
			continue
		}
		args = append(args, filepath.Join(dir, f.Name))
	}
	cmd := exec.Command(sa, append([]string{"verify"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var bad []string
	for _, l := range strings.Split(string(out), "\n") {
		for _, n := range names {
			if strings.Contains(l, n) {
				bad = append(bad, l)
				break
			}
		}
	}
	if err != nil && len(bad) == 0 {
		t.Skipf("systemd-analyze verify cannot run here: %v: %s", err, out)
	}
	return strings.Join(bad, "\n")
}

func TestSystemdUnitsVerify(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := exportCase(t, c.name, c.config, Systemd, options(c.name, Systemd))
			// verify checks that each ExecStart= program exists here.
			for _, prog := range []string{"node", "python3", "bash"} {
				if _, err := exec.LookPath(prog); err != nil && strings.Contains(r.Stream(), "ExecStart="+prog+" ") {
					t.Skipf("%s is not installed: systemd-analyze verify would report the missing program, not the unit", prog)
				}
			}
			if bad := verifyUnits(t, r.Files); bad != "" {
				t.Errorf("systemd-analyze verify:\n%s\n\n%s", bad, r.Stream())
			}
		})
	}
}

func TestSystemdVerifyCatchesABadUnit(t *testing.T) {
	// The check above must be able to fail, on a template too.
	r := exportCase(t, "cluster", "testdata/cluster/velos.toml", Systemd, options("cluster", Systemd))
	for i, f := range r.Files {
		if f.Name == "api@.service" {
			r.Files[i].Content = strings.Replace(f.Content, "\nType=notify\n", "\nType=notfy\n", 1)
		}
	}
	if bad := verifyUnits(t, r.Files); !strings.Contains(bad, "notfy") {
		t.Fatalf("systemd-analyze accepted Type=notfy in a template: %q", bad)
	}
}

func TestSystemdQuoting(t *testing.T) {
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"node", "/srv/app.js"}, "node /srv/app.js"},
		{[]string{"sh", "-c", `echo "$HOME" 100%`, "x"}, `sh -c "echo \"$$HOME\" 100%%" x`},
		{[]string{"a", "b c", "", ";", `back\slash`}, `a "b c" "" ";" "back\\slash"`},
		{[]string{"-weird"}, `"-weird"`},
	} {
		if got := sdArgs(c.argv); got != c.want {
			t.Errorf("sdArgs(%q) = %s, want %s", c.argv, got, c.want)
		}
	}
}

func TestCronToCalendar(t *testing.T) {
	for _, c := range []struct{ cron, calendar, why string }{
		{"0 3 * * *", "*-*-* 03:00:00", ""},
		{"30 2 * * 1-5", "Mon,Tue,Wed,Thu,Fri *-*-* 02:30:00", ""},
		{"*/15 * * * *", "*-*-* *:00/15:00", ""},
		{"0 */6 * * *", "*-*-* 00/6:00:00", ""},
		{"5,35 9-17 1 */3 *", "*-01/3-01 09,10,11,12,13,14,15,16,17:05,35:00", ""},
		{"10 0 3 * * 0,6", "Sun,Sat *-*-* 03:00:10", ""},
		{"0 12 * JAN,JUL SUN", "Sun *-01,07-* 12:00:00", ""},
		{"@daily", "*-*-* 00:00:00", ""},
		{"@weekly", "Sun *-*-* 00:00:00", ""},
		{"CRON_TZ=Europe/Paris 0 8 * * *", "*-*-* 08:00:00 Europe/Paris", ""},
		{"0 0 1 * 1", "", "either day-of-month or day-of-week"},
	} {
		tm, why := systemdTimer(c.cron)
		if tm.calendar != c.calendar || (c.why == "") != (why == "") || !strings.Contains(why, c.why) {
			t.Errorf("%q: got %q (%s), want %q (%s)", c.cron, tm.calendar, why, c.calendar, c.why)
		}
	}
	if tm, _ := systemdTimer("@every 90m"); tm.every != 90*time.Minute {
		t.Errorf("@every 90m: %+v", tm)
	}
}

// TestCalendarMatchesCron checks each conversion against systemd's own
// reading of it: systemd-analyze calendar's next elapses must be the times
// robfig/cron (velos's scheduler's parser) gives for the cron expression.
func TestCalendarMatchesCron(t *testing.T) {
	sa := systemdAnalyze(t)
	for _, expr := range []string{"0 3 * * *", "30 2 * * 1-5", "*/15 * * * *", "0 */6 * * *",
		"5,35 9-17 1 */3 *", "10 0 3 * * 0,6", "0 12 * JAN,JUL SUN", "@weekly", "0 0 29 2 *", "0 9 1-7 * *"} {
		tm, why := systemdTimer(expr)
		if why != "" {
			t.Fatalf("%s: %s", expr, why)
		}
		const n = 8
		cmd := exec.Command(sa, "calendar", "--iterations=8", tm.calendar)
		cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
		now := time.Now().UTC()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s → %s: systemd-analyze calendar: %v\n%s", expr, tm.calendar, err, out)
		}
		var got []time.Time
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			l := strings.TrimSpace(sc.Text())
			if !strings.HasPrefix(l, "Next elapse:") && !strings.HasPrefix(l, "Iter. #") {
				continue
			}
			_, v, _ := strings.Cut(l, ": ")
			ts, err := time.Parse("Mon 2006-01-02 15:04:05 MST", strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("%s: cannot read %q: %v", expr, l, err)
			}
			got = append(got, ts)
		}
		sched, err := cronParser().Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := sched.(*cron.SpecSchedule); ok {
			s.Location = time.UTC
		}
		next := now
		if len(got) != n {
			t.Fatalf("%s: systemd-analyze gave %d times:\n%s", expr, len(got), out)
		}
		for i := 0; i < n; i++ {
			next = sched.Next(next)
			if !next.Equal(got[i]) {
				t.Errorf("%s → OnCalendar=%s: elapse %d is %s, cron says %s", expr, tm.calendar, i+1, got[i], next)
				break
			}
		}
	}
}
