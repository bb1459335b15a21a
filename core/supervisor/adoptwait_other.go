//go:build !linux

package supervisor

// canAdopt: adoption needs a process's start time (never a recycled pid)
// and a pidfd (its exit noticed), which only Linux has here.
const canAdopt = false

func startTicks(int) (uint64, error) { return 0, nil }

type foreign struct{}

func findRun(int, uint64) (*foreign, bool) { return nil, false }

func (*foreign) wait() Exit { return Exit{Code: -1, Reason: ExitUnknown} }
