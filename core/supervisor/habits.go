package supervisor

import (
	"fmt"
	"syscall"
)

// Reset zeroes the restart accounting of the target's processes — the
// restart count, the restart history and the crash-loop window — as PM2's
// `pm2 reset` does. The processes keep running.
func (m *Manager) Reset(target string) ([]Info, error) {
	ps, err := m.Resolve(target)
	if err != nil {
		return nil, fmt.Errorf("reset: %w", err)
	}
	infos := make([]Info, 0, len(ps))
	for _, p := range ps {
		p.mu.Lock()
		p.restarts, p.history, p.decisions = 0, nil, History{}
		p.mu.Unlock()
		infos = append(infos, p.info())
	}
	return infos, nil
}

// ErrNotRunning is returned when an operation needs a running process.
var ErrNotRunning = fmt.Errorf("not running")

// Signal sends sig to the target's running processes: to each leader (the
// pid Velos started, as `pm2 sendSignal` does), or with group to its whole
// process group. Processes that are not running are skipped; none running
// is an [ErrNotRunning] error.
func (m *Manager) Signal(target string, sig syscall.Signal, group bool) ([]Info, error) {
	ps, err := m.Resolve(target)
	if err != nil {
		return nil, fmt.Errorf("signal: %w", err)
	}
	var infos []Info
	for _, p := range ps {
		p.mu.Lock()
		var pid, pgid int
		if r := p.cur; r != nil {
			pid, pgid = r.pid, r.pgid
		}
		status := p.status
		p.mu.Unlock()
		if pid == 0 || (status != Online && status != Launching) {
			continue
		}
		dest := pid
		if group {
			dest = -pgid
			if pgid == 0 {
				continue
			}
		}
		if err := sendSignal(dest, sig); err != nil {
			return infos, fmt.Errorf("signal %s to %s (pid %d): %w", SignalName(sig), p.info().Name, pid, err)
		}
		infos = append(infos, p.info())
	}
	if len(infos) == 0 {
		return nil, fmt.Errorf("signal %s: %s is %w", SignalName(sig), target, ErrNotRunning)
	}
	return infos, nil
}
