// Package arch holds the test that keeps each binary to what it runs
// (DESIGN.md, "Why two binaries"): velos, the CLI, starts in milliseconds
// because it links no supervisor, metrics or telemetry; velosd, the daemon,
// stays small because it links no CLI parser or TUI.
package arch
