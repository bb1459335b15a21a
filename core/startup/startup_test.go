package startup

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func opts(t *testing.T, system string, wide bool) Options {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	return Options{System: system, SystemWide: wide, Exe: exe, Home: filepath.Join(home, "velos 100%"),
		User: "root", UserHome: home, Path: "/usr/local/bin:/usr/bin:/bin"}
}

// Verify runs systemd-analyze verify on a unit and returns what it said
// about the unit; it skips when the tool is missing or cannot run here.
func Verify(t *testing.T, unit string) string {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	out, err := exec.Command(sa, "verify", unit).CombinedOutput()
	if err != nil && !strings.Contains(string(out), filepath.Base(unit)) {
		t.Skipf("systemd-analyze verify cannot run here: %v: %s", err, out)
	}
	// verify exits 0 on many problems it only warns about: any line naming
	// the unit is a problem.
	var bad []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, filepath.Base(unit)) {
			bad = append(bad, l)
		}
	}
	return strings.Join(bad, "\n")
}

func TestSystemdUnitsVerify(t *testing.T) {
	for _, wide := range []bool{false, true} {
		o := opts(t, Systemd, wide)
		u, err := Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Type=notify", "daemon --resurrect", `Environment="VELOS_HOME=` + strings.ReplaceAll(o.Home, "%", "%%") + `"`, "KillMode=mixed", "WatchdogSec="} {
			if !strings.Contains(u.Content, want) {
				t.Errorf("wide=%v: unit lacks %q:\n%s", wide, want, u.Content)
			}
		}
		if strings.Contains(u.Content, "User=") != wide {
			t.Errorf("wide=%v: User= present = %v", wide, !wide)
		}
		wantPath := filepath.Join(o.UserHome, ".config/systemd/user/velos.service")
		if wide {
			wantPath = "/etc/systemd/system/velos-root.service"
		}
		if u.Path != wantPath {
			t.Errorf("path = %s, want %s", u.Path, wantPath)
		}
		// The user unit is checked in system mode: systemd-analyze --user
		// needs a user manager, and the file's syntax is the same.
		f := filepath.Join(t.TempDir(), filepath.Base(u.Path))
		if err := os.WriteFile(f, []byte(u.Content), 0o644); err != nil {
			t.Fatal(err)
		}
		if bad := Verify(t, f); bad != "" {
			t.Errorf("wide=%v: systemd-analyze verify:\n%s\n%s", wide, bad, u.Content)
		}
	}
}

func TestVerifyCatchesABadUnit(t *testing.T) {
	// The check above must be able to fail.
	o := opts(t, Systemd, false)
	u, _ := Generate(o)
	f := filepath.Join(t.TempDir(), "bad.service")
	os.WriteFile(f, []byte(strings.Replace(u.Content, "Type=notify", "Type=notfy", 1)), 0o644)
	if Verify(t, f) == "" {
		t.Fatal("systemd-analyze accepted Type=notfy")
	}
}

func TestLaunchdPlist(t *testing.T) {
	for _, wide := range []bool{false, true} {
		o := opts(t, Launchd, wide)
		o.Home += " <&>"
		u, err := Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(strings.NewReader(u.Content))
		var strs []string
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("plist is not XML: %v\n%s", err, u.Content)
			}
			if cd, ok := tok.(xml.CharData); ok && strings.TrimSpace(string(cd)) != "" {
				strs = append(strs, string(cd))
			}
		}
		all := strings.Join(strs, "|")
		for _, want := range []string{o.Exe + "|daemon|--resurrect", "VELOS_HOME|" + o.Home} {
			if !strings.Contains(all, want) {
				t.Errorf("wide=%v: plist values lack %q: %s", wide, want, all)
			}
		}
		if strings.Contains(all, "UserName|root") != wide {
			t.Errorf("wide=%v: UserName present = %v", wide, !wide)
		}
	}
}

func TestOpenRCScript(t *testing.T) {
	o := opts(t, OpenRC, false)
	o.Home += "'s"
	u, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if !u.SystemWide || u.Path != "/etc/init.d/velos-root" {
		t.Fatalf("openrc unit = %+v", u)
	}
	// openrc-run scripts are sh: the syntax and the quoting must hold.
	f := filepath.Join(t.TempDir(), "velos")
	os.WriteFile(f, []byte(u.Content+"\necho \"$command|$command_args|$VELOS_HOME\"\n"), 0o755)
	out, err := exec.Command("sh", f).CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v: %s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), o.Exe+"|daemon --resurrect|"+o.Home; got != want {
		t.Fatalf("sh reads %q, want %q", got, want)
	}
}

func TestGenerateRefuses(t *testing.T) {
	o := opts(t, "upstart", false)
	if _, err := Generate(o); err == nil || !strings.Contains(err.Error(), "systemd, launchd, openrc") {
		t.Fatalf("err = %v", err)
	}
	o = opts(t, Systemd, false)
	o.Exe = "velos"
	if _, err := Generate(o); err == nil {
		t.Fatal("a relative velos path was accepted")
	}
}

func TestInstallRemove(t *testing.T) {
	o := opts(t, Systemd, false)
	o.ConfigHome = filepath.Join(t.TempDir(), "cfg")
	u, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != filepath.Join(o.ConfigHome, "systemd/user/velos.service") {
		t.Fatalf("path = %s", u.Path)
	}
	if err := Install(u); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(u.Path)
	if err != nil || string(b) != u.Content {
		t.Fatalf("installed %q, %v", b, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(u.Path))
	if len(entries) != 1 {
		t.Fatalf("temp files left: %v", entries)
	}
	if ok, err := Remove(u); !ok || err != nil {
		t.Fatalf("remove = %v, %v", ok, err)
	}
	if ok, err := Remove(u); ok || err != nil {
		t.Fatalf("second remove = %v, %v", ok, err)
	}
}

func TestOnlyOurFilesAreReplacedOrRemoved(t *testing.T) {
	for _, sys := range Systems {
		o := opts(t, sys, false)
		u, err := Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		if h, ok := HomeOf(u.Content); !ok || h != o.Home {
			t.Fatalf("%s: HomeOf = %q %v, want %q", sys, h, ok, o.Home)
		}
		u.Path = filepath.Join(t.TempDir(), "unit")
		// A file someone else wrote.
		os.WriteFile(u.Path, []byte("[Service]\nExecStart=/bin/true\n"), 0o644)
		if err := Install(u); !errors.Is(err, ErrNotOurs) {
			t.Fatalf("%s: install over a foreign file: %v", sys, err)
		}
		if ok, err := Remove(u); ok || !errors.Is(err, ErrNotOurs) {
			t.Fatalf("%s: remove of a foreign file: %v %v", sys, ok, err)
		}
		// Ours, but for another home.
		other := o
		other.Home = "/elsewhere"
		ou, _ := Generate(other)
		os.WriteFile(u.Path, []byte(ou.Content), 0o644)
		if ok, err := Remove(u); ok || !errors.Is(err, ErrNotOurs) || !strings.Contains(err.Error(), "/elsewhere") {
			t.Fatalf("%s: remove of another home's unit: %v %v", sys, ok, err)
		}
		if b, _ := os.ReadFile(u.Path); string(b) != ou.Content {
			t.Fatalf("%s: another home's unit was changed", sys)
		}
		// Ours for this home: replaced, then removed.
		os.WriteFile(u.Path, []byte(u.Content+"# old\n"), 0o644)
		if err := Install(u); err != nil {
			t.Fatalf("%s: reinstall: %v", sys, err)
		}
		if ok, err := Remove(u); !ok || err != nil {
			t.Fatalf("%s: remove: %v %v", sys, ok, err)
		}
	}
}
