package tools

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/velos-pm/velos/core/pm2"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
)

// ImportPM2In names the PM2 file to convert and where the velos.toml goes.
type ImportPM2In struct {
	File   string `json:"file,omitempty" arg:"" optional:"" brief:"default ~/.pm2/dump.pm2" help:"PM2 ecosystem file (.config.js, .cjs, .mjs, .json, .yaml) or dump (default: $PM2_HOME/dump.pm2, else ~/.pm2/dump.pm2)."`
	Output string `json:"output,omitempty" short:"o" brief:"default: beside the input; - prints" help:"Where to write the velos.toml (default: velos.toml beside an ecosystem file, or in the current folder for a dump); - prints it."`
	Force  bool   `json:"force,omitempty" brief:"-" help:"Replace the output file if it exists."`
}

// ImportPM2Out is the velos.toml written (or printed) and what it holds.
type ImportPM2Out struct {
	// Written is the velos.toml's path; empty when the file was printed.
	Written string `json:"written,omitempty"`
	// TOML is the file's text when output is "-".
	TOML      string   `json:"toml,omitempty"`
	Processes []string `json:"processes"`
	// Warnings are the PM2 keys Velos does not support, each with what to
	// do instead (also comments in the file).
	Warnings []string `json:"warnings,omitempty" ai:"warn" human:"-"`
}

// CLIWarnings implements [tool.Warner].
func (o ImportPM2Out) CLIWarnings() []string { return o.Warnings }

// WriteHuman implements [render.HumanWriter]: the TOML itself when printed
// (so it can be redirected), else where it went and what to run next.
func (o ImportPM2Out) WriteHuman(w io.Writer, _ render.Options) error {
	if o.Written == "" {
		_, err := io.WriteString(w, o.TOML)
		return err
	}
	rel := o.Written
	if cwd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(cwd, o.Written); err == nil && !strings.HasPrefix(r, "..") {
			rel = r
		}
	}
	_, err := fmt.Fprintf(w, "wrote %s: %s\nnext: velos config validate %s && velos start %s\n", o.Written, strings.Join(o.Processes, ", "), rel, rel)
	return err
}

// ImportPM2 is config_import_pm2.
var ImportPM2 = &tool.Def[ImportPM2In, ImportPM2Out]{
	Name: "config_import_pm2", CLI: "import pm2", Title: "Import a PM2 file", Effect: tool.Mutating,
	Summary: "A PM2 ecosystem file or dump.pm2 as velos.toml, noting unmapped keys.",
	Prepare: func(in *ImportPM2In, cwd string) error {
		if in.File == "" {
			p, err := pm2.DefaultDump()
			if err != nil {
				return err
			}
			in.File = p
		}
		if !filepath.IsAbs(in.File) {
			in.File = filepath.Join(cwd, in.File)
		}
		if in.Output == "" && strings.HasSuffix(strings.ToLower(in.File), ".pm2") {
			in.Output = filepath.Join(cwd, "velos.toml")
		}
		if in.Output != "" && in.Output != "-" && !filepath.IsAbs(in.Output) {
			in.Output = filepath.Join(cwd, in.Output)
		}
		return nil
	},
	// Reading the user's files (a JavaScript file evaluated with the
	// user's environment) and writing one is done where the user is; no
	// daemon is needed.
	Local:    func(*ImportPM2In) bool { return true },
	RunLocal: runImportPM2,
}

func runImportPM2(ctx context.Context, in ImportPM2In) (ImportPM2Out, error) {
	if in.File == "" {
		return ImportPM2Out{}, errors.New("import pm2: say which file (an ecosystem file or dump.pm2)")
	}
	if !filepath.IsAbs(in.File) {
		return ImportPM2Out{}, fmt.Errorf("import pm2: file %q: give an absolute path", in.File)
	}
	if !pm2.IsFile(in.File) {
		return ImportPM2Out{}, fmt.Errorf("import pm2: %s is not a PM2 file (ecosystem.config.js, .cjs, .mjs, .json, .yaml, or dump.pm2)", in.File)
	}
	f, err := pm2.Load(ctx, in.File, pm2.Options{})
	if err != nil {
		return ImportPM2Out{}, fmt.Errorf("import pm2: %w", err)
	}
	out := ImportPM2Out{Processes: []string{}, Warnings: f.Warnings()}
	for _, e := range f.Apps {
		out.Processes = append(out.Processes, e.Name)
	}
	dest := in.Output
	switch {
	case dest == "-":
		out.TOML = string(f.TOML(""))
		return out, nil
	case dest == "" && f.Dump:
		return ImportPM2Out{}, errors.New("import pm2: say where to write the velos.toml (output)")
	case dest == "":
		dest = filepath.Join(f.Dir, "velos.toml")
	case !filepath.IsAbs(dest):
		return ImportPM2Out{}, fmt.Errorf("import pm2: output %q: give an absolute path", dest)
	}
	if _, err := os.Stat(dest); err == nil && !in.Force {
		return ImportPM2Out{}, fmt.Errorf("import pm2: %s exists; add --force to replace it, or -o another path (- prints it)", dest)
	}
	if err := writeAtomic(dest, f.TOML(dest)); err != nil {
		return ImportPM2Out{}, fmt.Errorf("import pm2: %w", err)
	}
	out.Written = dest
	return out, nil
}

// writeAtomic replaces path with data: a temporary file beside it, renamed
// over it, so a reader never sees half a file.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".velos-import-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
