// Package faults holds Velos's fault suite: end-to-end tests that break
// things on purpose around a real daemon — kill -9 of the daemon in the
// middle of a start, a stop, a save or a log rotation; a stopped child and
// its watchdog; a full log disk; running out of file descriptors; 500
// processes; a fork bomb; 50 clients at once — and check that each case ends
// with the daemon alive and answering, its state file valid and nothing
// doubled.
//
// The suite is slow (minutes), so it is built only with the faults tag:
//
//	make test-faults        # go test -tags faults ./faults
//
// A 10-second run of the concurrent clients is the one part that also runs
// in make test. The tests need Linux (procfs); the disk-full case also needs
// root and unshare(1) for a private tmpfs, and skips with the reason
// elsewhere.
package faults
