// Package state saves the list of managed processes so that `velos
// resurrect` (or a restarted daemon) can start them again. The file is
// $VELOS_HOME/dump.toml; it is replaced atomically, so a crash at any
// instant leaves either the previous dump or the new one, never a mix.
package state

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/velos-pm/velos/core/config"
)

// Version is the dump format this package writes and reads. Bump it when a
// change would make an older velos misread a newer dump.
const Version = 1

// FileName is the dump's name inside $VELOS_HOME.
const FileName = "dump.toml"

// Path is the dump's path for a given $VELOS_HOME.
func Path(home string) string { return filepath.Join(home, FileName) }

// Errors that [Load] wraps, to test with errors.Is.
var (
	// ErrCorrupt: the file is not a readable dump (torn, edited badly, or
	// not a dump at all).
	ErrCorrupt = errors.New("corrupt dump")
	// ErrVersion: the dump was written in a format this velos does not read.
	ErrVersion = errors.New("unsupported dump version")
)

// Dump is the saved process list.
type Dump struct {
	// Version is the format of the file; [Save] always writes [Version].
	Version int `json:"version"`
	// SavedAt is when the dump was written; [Save] fills it in when zero.
	SavedAt time.Time `json:"saved_at"`
	// Processes in the order they were started.
	Processes []Entry `json:"processes"`
}

// Entry is one saved process: everything needed to resolve it again with
// [config.Resolve](Process, Name, Profile, Dir).
type Entry struct {
	Name string `json:"name"`
	// Profile is the env profile it was started with, if any.
	Profile string `json:"profile,omitempty"`
	// Dir is the folder relative paths in Process resolve against (the
	// config file's folder, or the CLI's folder for `velos start app.js`).
	Dir     string         `json:"dir"`
	Process config.Process `json:"process"`
}

// wireDump is the TOML layout. Env profiles, which config.Process keeps out
// of its toml tags (in config files they are sub-tables of env), get a key
// of their own here.
type wireDump struct {
	Version   int         `toml:"version"`
	SavedAt   time.Time   `toml:"saved_at"`
	Processes []wireEntry `toml:"process"`
}

type wireEntry struct {
	Name        string                       `toml:"name"`
	Profile     string                       `toml:"profile,omitempty"`
	Dir         string                       `toml:"dir"`
	EnvProfiles map[string]map[string]string `toml:"env_profiles,omitempty"`
	Spec        config.Process               `toml:"spec"`
}

// Save writes d to path atomically: a temporary file in the same folder is
// written and fsynced, renamed over path, and the folder is fsynced so the
// rename itself survives a power cut.
func Save(path string, d Dump) error {
	w := wireDump{Version: Version, SavedAt: d.SavedAt}
	if w.SavedAt.IsZero() {
		w.SavedAt = time.Now()
	}
	w.SavedAt = w.SavedAt.UTC().Truncate(time.Millisecond)
	seen := map[string]bool{}
	for _, e := range d.Processes {
		if e.Name == "" || seen[e.Name] {
			return fmt.Errorf("save %s: process name %q empty or repeated", path, e.Name)
		}
		seen[e.Name] = true
		we := wireEntry{Name: e.Name, Profile: e.Profile, Dir: e.Dir, EnvProfiles: e.Process.EnvProfiles, Spec: e.Process}
		we.Spec.EnvProfiles = nil
		w.Processes = append(w.Processes, we)
	}
	var buf bytes.Buffer
	buf.WriteString("# Saved by velos; read by `velos resurrect`. Written atomically: edit only while the daemon is stopped.\n")
	if err := toml.NewEncoder(&buf).Encode(w); err != nil {
		return fmt.Errorf("save %s: encode: %w", path, err)
	}
	return writeAtomic(path, buf.Bytes())
}

// tempPattern names the temporary files [Save] writes beside path.
func tempPattern(path string) string { return "." + filepath.Base(path) + ".*.tmp" }

// RemoveTemps deletes the temporary files that saves interrupted by a crash
// (kill -9 between writing and renaming) left beside path; each is a whole
// or partial dump nobody will read. Call it only while no [Save] to path
// can run, as a daemon does at start once it holds its home.
func RemoveTemps(path string) error {
	tmps, err := filepath.Glob(filepath.Join(filepath.Dir(path), tempPattern(path)))
	if err != nil {
		return fmt.Errorf("remove temporary dumps: %w", err)
	}
	var errs []error
	for _, t := range tmps {
		if err := os.Remove(t); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("save %s: write: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("save %s: fsync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save %s: close: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save %s: rename: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. Windows cannot open a folder for
// syncing, and its rename is already journaled, so it is skipped there.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("save: open folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("save: fsync folder %s: %w", dir, err)
	}
	return nil
}

// Load reads the dump at path. A missing file is an error that wraps
// fs.ErrNotExist (nothing was saved); a file that is not a dump, or is
// damaged, wraps [ErrCorrupt] with the line and column; a dump of another
// format version wraps [ErrVersion].
func Load(path string) (Dump, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Dump{}, fmt.Errorf("load dump: %w", err)
	}
	var head struct {
		Version int `toml:"version"`
	}
	if err := toml.Unmarshal(data, &head); err != nil {
		return Dump{}, corrupt(path, err)
	}
	switch {
	case head.Version == 0:
		return Dump{}, fmt.Errorf("%s: %w: no version key (not a velos dump?)", path, ErrCorrupt)
	case head.Version > Version:
		return Dump{}, fmt.Errorf("%s: %w %d: written by a newer velos (this one reads version %d)", path, ErrVersion, head.Version, Version)
	case head.Version < Version:
		return Dump{}, fmt.Errorf("%s: %w %d: too old (this velos reads version %d); start the processes again and run velos save", path, ErrVersion, head.Version, Version)
	}
	var w wireDump
	if err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&w); err != nil {
		return Dump{}, corrupt(path, err)
	}
	d := Dump{Version: w.Version, SavedAt: w.SavedAt}
	seen := map[string]bool{}
	for i, we := range w.Processes {
		if we.Name == "" || seen[we.Name] {
			return Dump{}, fmt.Errorf("%s: %w: process %d: name %q empty or repeated", path, ErrCorrupt, i+1, we.Name)
		}
		seen[we.Name] = true
		p := we.Spec
		p.EnvProfiles = we.EnvProfiles
		d.Processes = append(d.Processes, Entry{Name: we.Name, Profile: we.Profile, Dir: we.Dir, Process: p})
	}
	return d, nil
}

// corrupt wraps a go-toml error with its position.
func corrupt(path string, err error) error {
	var se *toml.StrictMissingError
	if errors.As(err, &se) && len(se.Errors) > 0 {
		row, col := se.Errors[0].Position()
		return fmt.Errorf("%s:%d:%d: %w: unknown key %v", path, row, col, ErrCorrupt, se.Errors[0].Key())
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		return fmt.Errorf("%s:%d:%d: %w: %s", path, row, col, ErrCorrupt, de.Error())
	}
	return fmt.Errorf("%s: %w: %w", path, ErrCorrupt, err)
}
