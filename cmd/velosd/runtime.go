package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/core/state"
	"github.com/velos-pm/velos/core/supervisor"
)

// runtimeFormat is the format of run/runtime.json this velosd reads and
// writes; a successor that finds another refuses to adopt (see
// loadRuntime), and one started by velos update then falls back to the
// binary before it. A string so that a test can build a velosd of another
// format (-ldflags "-X main.runtimeFormat=…") to see that fallback.
var runtimeFormat = "1"

// runtimeState is $VELOS_HOME/run/runtime.json: what a daemon's successor —
// one started after it was killed, or its own binary re-executed by velos
// update — needs to adopt its processes. Unlike dump.toml (velos save) it
// describes what runs now, and means nothing after a reboot.
type runtimeState struct {
	Version string             `json:"version"`
	PID     int                `json:"pid"` // the daemon that wrote it
	Specs   []state.Entry      `json:"specs"`
	Procs   supervisor.Runtime `json:"runtime"`
}

func runtimePath(home daemon.Home) string { return filepath.Join(home.Run(), "runtime.json") }

// runtimeFile writes the runtime state. Writes are whole-file replaces
// (write a temporary file, rename): a daemon killed at any instant leaves
// the old state or the new one. There is no fsync: the file describes
// running processes, which a power loss ends too.
type runtimeFile struct {
	path  string
	specs *state.Table

	mu  sync.Mutex
	off bool // a graceful stop: nothing runs, nothing to adopt
}

func (f *runtimeFile) write(rt supervisor.Runtime) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.off {
		return nil
	}
	b, err := json.Marshal(runtimeState{Version: runtimeFormat, PID: os.Getpid(), Specs: f.specs.All(), Procs: rt})
	if err != nil {
		return fmt.Errorf("runtime state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return fmt.Errorf("runtime state: %w", err)
	}
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("runtime state: %w", err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		return fmt.Errorf("runtime state: %w", err)
	}
	return nil
}

// remove ends the file's life: after a graceful stop nothing runs.
func (f *runtimeFile) remove() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.off = true
	_ = os.Remove(f.path)
}

// loadRuntime reads the runtime state a predecessor left; ok is false when
// there is none.
func loadRuntime(home daemon.Home) (rs runtimeState, ok bool, err error) {
	b, err := os.ReadFile(runtimePath(home))
	if errors.Is(err, fs.ErrNotExist) {
		return rs, false, nil
	}
	if err != nil {
		return rs, false, fmt.Errorf("runtime state: %w", err)
	}
	if err := json.Unmarshal(b, &rs); err != nil {
		return rs, false, fmt.Errorf("runtime state %s: %w", runtimePath(home), err)
	}
	if rs.Version != runtimeFormat {
		return rs, false, fmt.Errorf("runtime state %s: format %q, this velosd reads %q", runtimePath(home), rs.Version, runtimeFormat)
	}
	return rs, true, nil
}
