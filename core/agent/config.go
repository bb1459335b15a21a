package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// ConfigFile is the daemon's own config file, in VELOS_HOME.
const ConfigFile = "config.toml"

// Config is the [agent] table of the daemon's config file.
type Config struct {
	// AllowStart lists the programs an agent may have the daemon run; nil
	// (no allow_start key) allows any, an empty list none. See [Config.CheckStart].
	AllowStart []string
	// Path is the file it was read from, for messages.
	Path string
}

type fileShape struct {
	Agent struct {
		AllowStart *[]string `toml:"allow_start"`
	} `toml:"agent"`
}

// Load reads the config file at path. A missing file is an empty config;
// a bad one is an error naming path:line:column and the key.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{Path: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse reads a config file's contents; path names it in messages.
func Parse(path string, data []byte) (*Config, error) {
	var f fileShape
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, decodeError(path, err)
	}
	c := &Config{Path: path}
	if f.Agent.AllowStart != nil {
		c.AllowStart = append([]string{}, *f.Agent.AllowStart...)
	}
	for _, p := range c.AllowStart {
		if _, err := filepath.Match(p, ""); err != nil || strings.TrimSpace(p) == "" {
			return nil, fmt.Errorf("%s: agent.allow_start: bad pattern %q (want a program name like \"node\" or a path glob like \"./bin/*\")", path, p)
		}
	}
	return c, nil
}

func decodeError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var errs []error
		for _, e := range strict.Errors {
			line, col := e.Position()
			errs = append(errs, fmt.Errorf("%s:%d:%d: unknown key %s (the file knows [agent] allow_start)", path, line, col, strings.Join(e.Key(), ".")))
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		key := strings.Join(de.Key(), ".")
		if key != "" {
			key += ": "
		}
		return fmt.Errorf("%s:%d:%d: %s%s", path, line, col, key, de.Error())
	}
	return fmt.Errorf("%s: %w", path, err)
}

// ErrNotAllowed is what [Config.CheckStart] refusals wrap.
var ErrNotAllowed = errors.New("not in [agent] allow_start")

// CheckStart reports whether an agent may start command (argv, Command[0]
// the program) in the folder cwd. A pattern without a slash matches a
// program found on PATH, named without a path or by the path PATH gives
// for its name ("node" allows /usr/bin/node but not /tmp/node). A pattern
// with a slash is a path glob ('*' stays inside one folder) matched
// against the program's absolute, cleaned path; a relative pattern is
// relative to the config file's folder (VELOS_HOME), never to the folder
// the agent chose, so that "./bin/*" cannot be pointed anywhere.
func (c *Config) CheckStart(command []string, cwd string) error {
	if c == nil || c.AllowStart == nil {
		return nil
	}
	if len(command) == 0 {
		return fmt.Errorf("%w: empty command", ErrNotAllowed)
	}
	prog := command[0]
	for _, p := range c.AllowStart {
		if !strings.ContainsRune(p, '/') {
			if ok, _ := filepath.Match(p, filepath.Base(prog)); ok && onPath(prog) {
				return nil
			}
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(c.Path), p)
		}
		path := prog
		if !filepath.IsAbs(path) {
			path = filepath.Join(cwd, path)
		}
		if ok, _ := filepath.Match(filepath.Clean(p), filepath.Clean(path)); ok {
			return nil
		}
	}
	if len(c.AllowStart) == 0 {
		return fmt.Errorf("%w: %s allows agents to start no program (allow_start = [])", ErrNotAllowed, c.Path)
	}
	return fmt.Errorf("%w: %s is not one of %q (%s)", ErrNotAllowed, prog, c.AllowStart, c.Path)
}

// Source is the config file as it is now: read again when it changed
// (its size or modification time), so an edit applies to the next check
// without restarting the daemon.
type Source struct {
	path string

	mu    sync.Mutex
	stamp stamp
	cfg   *Config
	err   error
}

type stamp struct {
	exists bool
	size   int64
	mod    time.Time
}

// NewSource reads the file at path; a bad file is an error (the daemon
// refuses to start with it).
func NewSource(path string) (*Source, error) {
	s := &Source{path: path}
	if _, err := s.Current(); err != nil {
		return nil, err
	}
	return s, nil
}

// Current is the config, read again if the file changed since. While the
// file is bad, it is the error naming where (agents' starts are refused
// until it is fixed: failing closed).
func (s *Source) Current() (*Config, error) {
	var st stamp
	if fi, err := os.Stat(s.path); err == nil {
		st = stamp{exists: true, size: fi.Size(), mod: fi.ModTime()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg == nil && s.err == nil || st != s.stamp {
		s.cfg, s.err = Load(s.path)
		s.stamp = st
	}
	return s.cfg, s.err
}

// onPath reports whether prog is a name without a folder, or the file PATH
// finds for its base name.
func onPath(prog string) bool {
	if !strings.ContainsRune(prog, '/') {
		return true
	}
	found, err := exec.LookPath(filepath.Base(prog))
	return err == nil && filepath.Clean(found) == filepath.Clean(prog)
}
