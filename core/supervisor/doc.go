// Package supervisor runs child processes and keeps them running: each child
// in its own process group, graceful stop (signal → grace → SIGKILL to the
// group), and a restart policy with exponential backoff and crash-loop
// detection. What a process is asked to be ([Spec]) and how a run ended
// ([Exit]) live in the leaf package core/spec; the names below keep them
// readable here.
package supervisor
