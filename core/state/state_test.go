package state

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/velos-pm/velos/core/config"
)

// sample returns a dump with n processes; tag makes two dumps differ in
// every entry, so a mix of the two could never pass for either.
func sample(tag string, n int) Dump {
	d := Dump{Version: Version, SavedAt: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	for i := range n {
		d.Processes = append(d.Processes, Entry{
			Name: fmt.Sprintf("%s-%03d", tag, i), Profile: "staging", Dir: "/srv/" + tag,
			Process: config.Process{
				Script: "./api.js", Args: []string{"--id", fmt.Sprint(i)}, Instances: "max", Mode: "cluster",
				MaxMemory: "1G", Watch: true, WatchIgnore: []string{"node_modules", ".git"}, RestartFactor: 1.5,
				MaxRestarts: 3, LogGzip: true, KillTimeout: "3s", CronRestart: "0 3 * * *",
				Env:         map[string]string{"NODE_ENV": "production", "TAG": tag, "QUOTE": `a "b" \c`},
				EnvProfiles: map[string]map[string]string{"staging": {"PORT": "3001"}},
			},
		})
	}
	return d
}

func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "home", FileName)
	want := sample("a", 3)
	if err := Save(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if st, _ := os.Stat(path); runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	// An empty list is a valid dump (everything was deleted, then saved).
	if err := Save(path, Dump{}); err != nil {
		t.Fatal(err)
	}
	if d, err := Load(path); err != nil || len(d.Processes) != 0 || d.Version != Version || d.SavedAt.IsZero() {
		t.Errorf("empty dump: %+v %v", d, err)
	}
	if err := Save(path, Dump{Processes: []Entry{{Name: "x"}, {Name: "x"}}}); err == nil {
		t.Errorf("Save accepted a repeated name")
	}
}

func TestLoadBadDumps(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	if err := Save(good, sample("a", 2)); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	tests := []struct {
		name, content string
		is            error
		msg           string
	}{
		{"truncated mid-string", string(data[:len(data)*2/3]), ErrCorrupt, ""},
		{"empty", "", ErrCorrupt, "no version"},
		{"garbage", "\x00\x01 not toml [[[", ErrCorrupt, ""},
		{"a config file, not a dump", "[process.api]\nscript = \"a.js\"\n", ErrCorrupt, "no version"},
		{"newer", "version = 2\n", ErrVersion, "newer velos"},
		{"older", "version = -1\n", ErrVersion, "too old"},
		{"unknown key", strings.Replace(string(data), "name = ", "nmae = ", 1), ErrCorrupt, "unknown key"},
		{"wrong type", strings.Replace(string(data), "version = 1", "version = 1\nsaved_at = 'x'", 1), ErrCorrupt, ""},
		{"repeated name", "version = 1\n[[process]]\nname = \"a\"\n[[process]]\nname = \"a\"\n", ErrCorrupt, "repeated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), p) {
				t.Errorf("Load = %v, want %v containing %q", err, tt.is, tt.msg)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "none.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// helperEnv selects the saver mode of the test binary: it saves dumps "a"
// and "b" alternately to the path in this variable until killed.
const helperEnv = "VELOS_STATE_TEST_SAVER"

func TestHelperSaver(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process for TestSaveSurvivesSIGKILL")
	}
	dumps := []Dump{sample("a", 150), sample("b", 150)}
	for i := 0; ; i++ {
		if err := Save(path, dumps[i%2]); err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
		if i == 0 {
			fmt.Println("saving") // the parent kills only after this
		}
	}
}

// TestSaveSurvivesSIGKILL kills a process that saves in a loop at random
// moments, 50 times; each time the dump must be exactly one of the two
// versions being written, never a torn mix.
func TestSaveSurvivesSIGKILL(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	if os.Getenv(helperEnv) != "" {
		t.Skip("in helper")
	}
	path := filepath.Join(t.TempDir(), FileName)
	a, b := sample("a", 150), sample("b", 150)
	if err := Save(path, a); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]int{}
	for round := range 50 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSaver$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "saving") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: helper said %q, %v", round, line, err)
		}
		time.Sleep(time.Duration(rng.IntN(5000)) * time.Microsecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait() // killed: the error is expected

		got, err := Load(path)
		if err != nil {
			t.Fatalf("round %d: dump unreadable after SIGKILL: %v", round, err)
		}
		switch {
		case reflect.DeepEqual(got, a):
			seen["a"]++
		case reflect.DeepEqual(got, b):
			seen["b"]++
		default:
			t.Fatalf("round %d: dump is neither version: %+v", round, got.Processes[:1])
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".dump.toml.*.tmp"))
	t.Logf("after 50 kills: %v; %d temporary files left by interrupted saves", seen, len(tmps))
	if err := RemoveTemps(path); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".dump.toml.*.tmp")); len(left) > 0 {
		t.Fatalf("RemoveTemps left %v", left)
	}
	if _, err := Load(path); err != nil {
		t.Fatalf("RemoveTemps took the dump: %v", err)
	}
}
