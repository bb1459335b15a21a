//go:build !unix

package main

import (
	"errors"
	"log/slog"
	"os"

	"github.com/velos-pm/velos/core/daemon"
	"github.com/velos-pm/velos/core/supervisor"
)

var errNoKeeper = errors.New("the descriptor keeper needs unix sockets (SCM_RIGHTS): not on this system")

func runKeeper(daemon.Home) error { return errNoKeeper }

// keeperHolder is never made here: processes do not outlive their daemon.
type keeperHolder struct{}

func openKeeper(daemon.Home, *slog.Logger, bool) (*keeperHolder, error) { return nil, errNoKeeper }

func (*keeperHolder) Hold(_, _ map[string]*os.File) error { return errNoKeeper }
func (*keeperHolder) Take(string) (map[string]supervisor.Handed, error) {
	return nil, errNoKeeper
}
func (*keeperHolder) Release(string)         {}
func (*keeperHolder) forget(map[string]bool) {}
func (*keeperHolder) quit()                  {}
func (*keeperHolder) setOnLost(func())       {}
