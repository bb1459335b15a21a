package tools

import (
	"time"

	"github.com/velos-pm/velos/tool"
)

// SaveIn takes nothing.
type SaveIn struct{}

// SaveOut says what was saved where.
type SaveOut struct {
	Path      string    `json:"path"`
	Processes []string  `json:"processes"`
	SavedAt   time.Time `json:"saved_at" ai:"-"`
}

// Save is state_save.
var Save = &tool.Def[SaveIn, SaveOut]{
	Name: "state_save", CLI: "save", Title: "Save the process list", Effect: tool.Mutating, Idempotent: true,
	Summary: "Save every process's config for resurrect and the boot unit.",
}

// ResurrectIn takes nothing.
type ResurrectIn struct{}

// ResurrectOut is what resurrect started and what it left alone.
type ResurrectOut struct {
	Path    string        `json:"path"`
	Started []ProcessInfo `json:"started"`
	// Skipped are saved names already running: resurrect leaves them as they are.
	Skipped []string `json:"skipped"`
}

// Resurrect is state_resurrect.
var Resurrect = &tool.Def[ResurrectIn, ResurrectOut]{
	Name: "state_resurrect", CLI: "resurrect", Title: "Restore saved processes", Effect: tool.Mutating, Progress: true,
	Summary: "Start the processes save recorded, skipping names already running.",
}
