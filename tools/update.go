package tools

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/tool"
)

// UpdateIn takes nothing: the daemon re-executes the binary it was started from.
type UpdateIn struct{}

// UpdateOut says what the daemon is about to re-execute: Binary, the
// velosd on disk, reporting version To, takes over from version From,
// with Processes handed over running (same pids, logs without a gap). A
// binary that fails to start falls back to the old one; SIGHUP to velosd
// does the same as this tool.
type UpdateOut struct {
	Binary    string `json:"binary" ai:"bin"`
	From      string `json:"from"`
	To        string `json:"to"`
	Processes int    `json:"processes" ai:"procs"`
}

// UpdateResult is $VELOS_HOME/run/update.json, written by the daemon that
// comes up after an update: the new binary, or the old one it fell back to.
type UpdateResult struct {
	Version  string `json:"version"`
	FellBack bool   `json:"fell_back,omitempty"`
	Error    string `json:"error,omitempty"`
}

// UpdateResultPath is where the daemon reports how an update went.
func UpdateResultPath(home string) string {
	return filepath.Join(daemon.Home{Dir: home}.Run(), "update.json")
}

// Update is daemon_update.
var Update = &tool.Def[UpdateIn, UpdateOut]{
	Name: "daemon_update", CLI: "update", Title: "Upgrade the daemon", Effect: tool.Mutating, NoAutostart: true,
	Summary: "Re-execute the velosd binary on disk; processes run on untouched.",
	// The answer comes before the exec: wait for the daemon that comes up
	// and say whether it is the new one.
	After: func(t *tool.Term) error { return waitUpdated(t.Home, 30*time.Second) },
}

func waitUpdated(home string, d time.Duration) error {
	path := UpdateResultPath(home)
	deadline := time.Now().Add(d)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			var r UpdateResult
			if err := json.Unmarshal(b, &r); err != nil {
				return fmt.Errorf("update: %s: %w", path, err)
			}
			if r.FellBack {
				return fmt.Errorf("update: the new velosd did not start (%s); the previous one (%s) runs on", r.Error, r.Version)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("update: no daemon came up within " + d.String() + "; see " + daemon.Home{Dir: home}.DaemonLog())
		}
		time.Sleep(20 * time.Millisecond) // another process: no event to wait on
	}
}
