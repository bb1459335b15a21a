package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/velos-pm/velos/core/spec"
)

// Problem is one thing wrong in a config: where, which key, and what.
// Its text is "file:line:col: key.path: what is wrong"; parts that are not
// known (no file for a flag, no line for a file-wide problem) are left out.
type Problem struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
	// Key is the dotted TOML path (process.api.max_memory); for [SetKey] and
	// [Resolve] it is relative to the process (max_memory).
	Key string `json:"key,omitempty"`
	Msg string `json:"msg"`
}

// Error renders the problem as "file:line:col: key.path: what is wrong".
func (p *Problem) Error() string {
	var sb strings.Builder
	if p.File != "" {
		sb.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&sb, ":%d:%d", p.Line, p.Col)
		}
		sb.WriteString(": ")
	}
	if p.Key != "" {
		sb.WriteString(p.Key)
		sb.WriteString(": ")
	}
	sb.WriteString(p.Msg)
	return sb.String()
}

// Error holds every problem found in one config, in file order. Its text
// has one problem per line.
type Error struct {
	Problems []Problem `json:"problems"`
}

// Error renders one problem per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i := range e.Problems {
		lines[i] = e.Problems[i].Error()
	}
	return strings.Join(lines, "\n")
}

// File is a loaded config file.
type File struct {
	// Path is the name the file was loaded under, as used in messages.
	Path string `json:"path"`
	// Dir is the absolute folder relative paths in the file resolve against.
	Dir string `json:"dir"`
	// Processes are in the order their tables first appear in the file.
	Processes []Entry `json:"processes"`
}

// Entry is one [process.NAME] table.
type Entry struct {
	Name    string  `json:"name"`
	Process Process `json:"process"`
	// Pos is where NAME is written in the table header.
	Pos Pos `json:"pos"`
	// KeyPos is where each key's value starts: "max_memory", "env",
	// "env.PORT", "env.staging.PORT".
	KeyPos map[string]Pos `json:"key_pos,omitempty"`
}

// Lookup returns the process called name.
func (f *File) Lookup(name string) (Entry, bool) {
	for _, e := range f.Processes {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// Resolve resolves every process of f. A non-empty profile must be defined
// by at least one process; processes without it run with their base env.
func (f *File) Resolve(profile string) ([]spec.Spec, error) {
	if profile != "" {
		var have []string
		for _, e := range f.Processes {
			have = append(have, sortedKeys(e.Process.EnvProfiles)...)
		}
		slices.Sort(have)
		have = slices.Compact(have)
		if !slices.Contains(have, profile) {
			return nil, &Error{Problems: []Problem{{File: f.Path, Key: "env", Msg: unknownProfile(profile, have)}}}
		}
	}
	var specs []spec.Spec
	var probs []Problem
	for _, e := range f.Processes {
		prof := profile
		if _, ok := e.Process.EnvProfiles[profile]; !ok {
			prof = ""
		}
		sp, issues := resolve(e.Process, e.Name, prof, f.Dir, runtimeCPUs())
		probs = append(probs, e.place(f.Path, issues, nil)...)
		specs = append(specs, sp)
	}
	if len(probs) > 0 {
		return nil, &Error{Problems: probs}
	}
	return specs, nil
}

// Load reads and checks the config file at path. Relative paths inside it
// resolve against the file's folder. Every problem found is reported at once
// in an [*Error].
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse checks a config file's contents; name is its path, used in messages
// and to find the folder relative paths resolve against.
func Parse(name string, data []byte) (*File, error) {
	dir, err := filepath.Abs(filepath.Dir(name))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	f := &File{Path: name, Dir: dir}
	// Editors on Windows save UTF-8 with a byte-order mark; TOML has no use for it.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	probs := f.parse(data)
	if len(probs) == 0 {
		// Safety net: go-toml's own decoder knows every TOML rule; if our
		// tree builder let something through, report it rather than guess.
		var m map[string]any
		if err := toml.Unmarshal(data, &m); err != nil {
			p := Problem{Msg: err.Error()}
			var de *toml.DecodeError
			if errors.As(err, &de) {
				p.Line, p.Col = de.Position()
				p.Key = joinKey(de.Key())
			}
			probs = append(probs, p)
		}
	}
	if len(probs) > 0 {
		for i := range probs {
			probs[i].File = name
		}
		sort.SliceStable(probs, func(i, j int) bool {
			a, b := probs[i], probs[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		})
		return nil, &Error{Problems: probs}
	}
	return f, nil
}

func (f *File) parse(data []byte) []Problem {
	root, probs, se := parseTree(data)
	if se != nil {
		return append(probs, Problem{Line: se.pos.Line, Col: se.pos.Col, Msg: "syntax error: " + se.msg})
	}
	for _, k := range root.keys {
		e := root.get(k)
		if k != "process" {
			msg := unknownKey(k, []string{"process"})
			if msg == "unknown key" {
				msg = "unknown key (a config file holds [process.NAME] tables)"
			}
			probs = append(probs, Problem{Line: e.keyPos.Line, Col: e.keyPos.Col, Key: joinKey([]string{k}), Msg: msg})
			continue
		}
		if e.val.kind != kTable {
			probs = append(probs, Problem{Line: e.val.pos.Line, Col: e.val.pos.Col, Key: k,
				Msg: fmt.Sprintf("want tables like [process.NAME], got %s", e.val.describe())})
			continue
		}
		for _, name := range e.val.tab.keys {
			ent, ps := f.decodeEntry(name, e.val.tab.get(name))
			probs = append(probs, ps...)
			f.Processes = append(f.Processes, ent)
		}
	}
	if len(f.Processes) == 0 && len(probs) == 0 {
		probs = append(probs, Problem{Msg: "no processes (add a [process.NAME] table with a script)"})
	}
	return probs
}

// decodeEntry decodes [process.NAME] and checks it the way it will be run.
func (f *File) decodeEntry(name string, e *entry) (Entry, []Problem) {
	base := []string{"process", name}
	ent := Entry{Name: name, Pos: e.keyPos, KeyPos: map[string]Pos{}}
	var probs []Problem
	add := func(pos Pos, key []string, msg string) {
		probs = append(probs, Problem{Line: pos.Line, Col: pos.Col, Key: joinKey(key), Msg: msg})
	}
	if err := checkName(name); err != nil {
		add(e.keyPos, base, err.Error())
	}
	if e.val.kind != kTable {
		add(e.val.pos, base, fmt.Sprintf("want a table [process.%s], got %s", quoteKey(name), e.val.describe()))
		return ent, probs
	}
	tab := e.val.tab
	items := map[string][]Pos{}
	for _, k := range tab.keys {
		kv := tab.get(k)
		path := append(base[:2:2], k)
		ent.KeyPos[k] = kv.val.pos
		if k == "env" {
			probs = append(probs, decodeEnv(&ent, kv.val, path)...)
			continue
		}
		fd, ok := fieldByKey(k)
		if !ok {
			add(kv.keyPos, path, unknownKey(k, append(keyNames(), "env")))
			continue
		}
		if msg, at := decodeField(&ent.Process, fd, kv.val); msg != "" {
			add(at, path, msg)
		}
		for _, it := range kv.val.items {
			items[k] = append(items[k], it.pos)
		}
	}
	// watch_paths alone looks like it turns watching on, but only watch does;
	// say so rather than silently not watching. An explicit watch = false is
	// a deliberate switch-off and stays quiet.
	if tab.get("watch") == nil {
		for _, k := range []string{"watch_paths", "watch_ignore", "watch_debounce"} {
			if kv := tab.get(k); kv != nil {
				add(kv.keyPos, append(base[:2:2], k), "has no effect without watch = true")
			}
		}
	}
	// Check the rest (script, cwd, env_file, paths) exactly as it will run.
	_, issues := resolve(ent.Process, name, "", f.Dir, 1)
	issues = slices.DeleteFunc(issues, func(is issue) bool { return is.key == "name" }) // reported above
	probs = append(probs, ent.place("", issues, items)...)
	return ent, probs
}

// place turns resolve issues into positioned problems under process.NAME.
func (e Entry) place(file string, issues []issue, items map[string][]Pos) []Problem {
	var probs []Problem
	for _, is := range issues {
		pos, ok := e.KeyPos[is.key]
		if is.item >= 0 && is.item < len(items[is.key]) {
			pos, ok = items[is.key][is.item], true
		}
		if !ok {
			pos = e.Pos
		}
		key := joinKey([]string{"process", e.Name}) + "." + is.key
		probs = append(probs, Problem{File: file, Line: pos.Line, Col: pos.Col, Key: key, Msg: is.msg})
	}
	return probs
}

// decodeEnv reads env: NAME = "value" pairs (the base env) and sub-tables
// (profiles) mixed in one table, as the TOML form allows.
func decodeEnv(ent *Entry, v *value, path []string) []Problem {
	var probs []Problem
	add := func(pos Pos, key []string, msg string) {
		probs = append(probs, Problem{Line: pos.Line, Col: pos.Col, Key: joinKey(key), Msg: msg})
	}
	if v.kind != kTable {
		add(v.pos, path, "want a table of NAME = \"value\" (and [env.PROFILE] tables), got "+v.describe())
		return probs
	}
	p := &ent.Process
	for _, k := range v.tab.keys {
		kv := v.tab.get(k)
		kpath := append(path[:len(path):len(path)], k)
		ent.KeyPos["env."+k] = kv.val.pos
		if s, ok := envScalar(kv.val); ok {
			if err := checkEnvName(k); err != nil {
				add(kv.keyPos, kpath, err.Error())
				continue
			}
			if p.Env == nil {
				p.Env = map[string]string{}
			}
			p.Env[k] = s
			continue
		}
		if kv.val.kind != kTable {
			add(kv.val.pos, kpath, "want a string, or a table for an env profile, got "+kv.val.describe())
			continue
		}
		prof := map[string]string{}
		for _, pk := range kv.val.tab.keys {
			pkv := kv.val.tab.get(pk)
			ppath := append(kpath[:len(kpath):len(kpath)], pk)
			ent.KeyPos["env."+k+"."+pk] = pkv.val.pos
			s, ok := envScalar(pkv.val)
			if !ok {
				add(pkv.val.pos, ppath, "want a string, got "+pkv.val.describe())
				continue
			}
			if err := checkEnvName(pk); err != nil {
				add(pkv.keyPos, ppath, err.Error())
				continue
			}
			prof[pk] = s
		}
		if p.EnvProfiles == nil {
			p.EnvProfiles = map[string]map[string]string{}
		}
		p.EnvProfiles[k] = prof
	}
	return probs
}

// checkName refuses process names that would be ambiguous on the command
// line (a number is an id, "all" means every process) or unsafe as a log
// file name.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty process name")
	}
	if name == "all" {
		return errors.New(`"all" is reserved (it means every process)`)
	}
	digits := true
	for i, c := range name {
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (i > 0 && (c == '-' || c == '_' || c == '.'))
		if !ok {
			return fmt.Errorf("process name %q: use letters, digits, '-', '_' and '.', starting with a letter or digit", name)
		}
		digits = digits && c >= '0' && c <= '9'
	}
	if digits {
		return fmt.Errorf("process name %q is a number, which would be read as a process id", name)
	}
	return nil
}

// checkEnvName refuses names that cannot be environment variables.
func checkEnvName(k string) error {
	if k == "" || strings.ContainsAny(k, "=\x00") {
		return fmt.Errorf("%q is not a valid environment variable name", k)
	}
	return nil
}

func unknownProfile(profile string, have []string) string {
	if len(have) == 0 {
		return fmt.Sprintf("env profile %q is not defined (no [env.PROFILE] tables)", profile)
	}
	msg := fmt.Sprintf("env profile %q is not defined (have: %s)", profile, strings.Join(have, ", "))
	if s := suggest(profile, have); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return msg
}
