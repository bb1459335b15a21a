package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/velos-pm/velos/internal/testenv"
	"github.com/velos-pm/velos/tools"
)

// TestCompleteWalksTheRegistry: candidates come from the same model the CLI
// parses with: every tool's command, its flags, enum values, and process
// names where a process is asked for.
func TestCompleteWalksTheRegistry(t *testing.T) {
	var cli CLI
	p, err := newParser(&cli, tools.All, nil, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	names := func() []string { return []string{"api", "worker"} }
	cands := func(words ...string) []string {
		var out []string
		for _, l := range complete(p.Model.Node, words, names) {
			c, _, _ := strings.Cut(l, "\t")
			out = append(out, c)
		}
		return out
	}
	top := cands("")
	for _, e := range tools.All {
		first, _, _ := strings.Cut(e.Info().CLI, " ")
		if !slices.Contains(top, first) {
			t.Errorf("velos <TAB> lacks %s", first)
		}
	}
	if slices.Contains(top, "__complete") {
		t.Error("the hidden __complete is offered")
	}
	cases := []struct {
		words      []string
		want, not  []string
		onlyWanted bool
	}{
		{[]string{"st"}, []string{"start", "stop", "startup"}, []string{"list"}, true},
		{[]string{"metrics", ""}, []string{"show", "serve"}, nil, true},
		{[]string{"config", "v"}, []string{"validate"}, nil, true},
		{[]string{"stop", ""}, []string{"all", "api", "worker"}, nil, true},
		{[]string{"logs", "w"}, []string{"worker"}, nil, true},
		{[]string{"describe", ""}, []string{"api", "worker"}, []string{"all"}, false},
		{[]string{"start", "--autorestart", ""}, []string{"always", "on-failure", "never"}, nil, true},
		{[]string{"logs", "api", "--level", "e"}, []string{"error"}, nil, true},
		{[]string{"startup", ""}, []string{"systemd", "launchd", "openrc"}, nil, true},
		{[]string{"signal", "SIGU"}, []string{"SIGUSR1", "SIGUSR2"}, nil, true},
		{[]string{"signal", "SIGUSR2", ""}, []string{"all", "api"}, nil, false},
		{[]string{"logs", "--gr"}, []string{"--grep"}, nil, true},
		{[]string{"list", "--"}, []string{"--json", "--ai"}, nil, false},
		{[]string{"start", ""}, []string{filesDirective}, nil, false},
		{[]string{"import", "pm2", ""}, []string{filesDirective}, nil, false},
		{[]string{"start", "--name", ""}, nil, []string{"api"}, false},
	}
	for _, c := range cases {
		got := cands(c.words...)
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("velos %s<TAB>: %v lacks %q", strings.Join(c.words, " "), got, w)
			}
		}
		for _, w := range c.not {
			if slices.Contains(got, w) {
				t.Errorf("velos %s<TAB>: %v offers %q", strings.Join(c.words, " "), got, w)
			}
		}
		if c.onlyWanted && len(got) != len(c.want) {
			t.Errorf("velos %s<TAB>: %v, want only %v", strings.Join(c.words, " "), got, c.want)
		}
	}
}

// TestBashCompletion sources the generated script in a real bash, checks
// complete -p, and runs the completion function as bash would on TAB:
// commands, enum values, and the names of a running daemon's processes.
func TestBashCompletion(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	e := testenv.New(t)
	e.MustRun("start", "sleep", "--name", "api", "--", "300")
	script := filepath.Join(t.TempDir(), "velos.bash")
	if err := os.WriteFile(script, []byte(e.MustRun("completion", "bash")), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(line string) []string {
		t.Helper()
		words := strings.Fields(line)
		if strings.HasSuffix(line, " ") {
			words = append(words, "")
		}
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+w+"'")
		}
		prog := `source "$1"
[[ $(complete -p velos) == "complete -F _velos velos" ]] || { echo "complete -p: $(complete -p velos)"; exit 3; }
COMP_WORDS=(` + strings.Join(quoted, " ") + `)
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_velos
printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog, "bash", script)
		cmd.Env = append(os.Environ(), "VELOS_HOME="+e.Home, "PATH="+filepath.Dir(e.Bin)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.Fields(string(out))
	}
	for line, want := range map[string][]string{
		"velos res":                   {"restart", "reset", "resurrect"},
		"velos stop ":                 {"all", "api"},
		"velos logs a":                {"all", "api"},
		"velos start --autorestart o": {"on-failure"},
		"velos completion ":           {"bash", "zsh", "fish"},
	} {
		got := run(line)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q<TAB>: %v, want %v", line, got, want)
		}
	}
	// A file argument falls back to file names.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ecosystem.config.js"), nil, 0o644)
	if got := run("velos start " + dir + "/eco"); !slices.Contains(got, dir+"/ecosystem.config.js") {
		t.Errorf("start <file><TAB>: %v", got)
	}
}

// TestZshAndFishScriptsParse: the zsh and fish scripts are valid for their
// shells (zsh -n, fish -n) where those are installed.
func TestZshAndFishScriptsParse(t *testing.T) {
	t.Parallel()
	for _, sh := range []string{"zsh", "fish"} {
		t.Run(sh, func(t *testing.T) {
			bin, err := exec.LookPath(sh)
			if err != nil {
				t.Skipf("%s is not installed (.ci/run installs it with apt-get)", sh)
			}
			script := filepath.Join(t.TempDir(), "velos."+sh)
			if err := os.WriteFile(script, []byte(completionScripts[sh]), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, "-n", script).CombinedOutput(); err != nil {
				t.Fatalf("%s -n: %v\n%s", sh, err, out)
			}
			if sh != "fish" {
				return
			}
			// fish completes a command line without a terminal: run it.
			e := testenv.New(t)
			cmd := exec.Command(bin, "--no-config", "-c", `source $argv[1]; complete -C "velos st"; complete -C "velos start --autorestart o"`, script)
			cmd.Env = append(os.Environ(), "VELOS_HOME="+e.Home, "PATH="+filepath.Dir(e.Bin)+":"+os.Getenv("PATH"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("fish: %v\n%s", err, out)
			}
			for _, want := range []string{"start\tRun a program", "stop\t", "startup\t", "on-failure"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("fish completions lack %q:\n%s", want, out)
				}
			}
		})
	}
}
