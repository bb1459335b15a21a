package tools

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/core/export"
	"github.com/velos-pm/velos/render"
	"github.com/velos-pm/velos/tool"
)

// ExportIn names the config, the target and where the files go.
type ExportIn struct {
	Target string `json:"target" arg:"" enum:"kubernetes,systemd,compose" brief:"-" help:"What to write: kubernetes (per process a Deployment, ConfigMap, Secret, Service), systemd (units) or compose (one Compose file)."`
	File   string `json:"file,omitempty" arg:"" optional:"" brief:"default ./velos.toml" help:"Config file (default: velos.toml in the current folder)."`
	Out    string `json:"out,omitempty" brief:"write here, not print" help:"Folder to write the files to, created if missing (files of the same names are replaced); default: print them."`
	Env    string `json:"env,omitempty" brief:"env profile" help:"Env profile merged over env, as with velos start --env."`
	Image  string `json:"image,omitempty" brief:"-" help:"Container image holding the app (kubernetes, compose); default: a placeholder that fails to pull."`
	AppDir string `json:"app_dir,omitempty" brief:"default /app" help:"Where the config file's folder is inside the image (default /app) or, for systemd, on the machine (default: the folder itself)."`
	// CronJobs: see [export.Options.CronJobs].
	CronJobs bool `json:"cron_jobs,omitempty" brief:"k8s CronJobs for cron_restart" help:"kubernetes: a CronJob running kubectl rollout restart for each cron_restart, instead of a note."`
}

// ExportOut is the export: the files (their contents when printed, their
// paths when written), the settings without an exact equivalent, and the
// commands that apply the files.
type ExportOut struct {
	Target string        `json:"target" ai:"-"`
	Config string        `json:"config" ai:"-"`
	Dir    string        `json:"dir,omitempty"`
	Files  []export.File `json:"files" human:"-"`
	// Written are the paths of the files written to Dir.
	Written []string      `json:"written,omitempty"`
	Notes   []export.Note `json:"notes"`
	Next    []string      `json:"next"`
}

// WriteHuman prints the files alone when they were not written, so the
// output can be redirected (the notes are comments in them); after --out,
// what was written, the notes and what to run next.
func (o ExportOut) WriteHuman(w io.Writer, _ render.Options) error {
	if o.Dir == "" {
		var r export.Result
		r.Target, r.Files = o.Target, o.Files
		_, err := io.WriteString(w, r.Stream())
		return err
	}
	var b strings.Builder
	for _, p := range o.Written {
		fmt.Fprintf(&b, "wrote %s\n", p)
	}
	if len(o.Notes) > 0 {
		fmt.Fprintf(&b, "\n%d settings have no exact equivalent in %s (also noted in the files):\n", len(o.Notes), o.Target)
		for _, n := range o.Notes {
			what := n.Key
			if n.Value != "" {
				what += " = " + n.Value
			}
			fmt.Fprintf(&b, "  %s: %s: %s\n", n.Process, what, n.Done)
		}
	}
	b.WriteString("\nnext:\n")
	for _, c := range o.Next {
		fmt.Fprintf(&b, "  %s\n", c)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Export is config_export.
var Export = &tool.Def[ExportIn, ExportOut]{
	Name: "config_export", CLI: "export", Title: "Export a config to Kubernetes, systemd or Compose", Effect: tool.Mutating, Idempotent: true,
	Summary: "A velos.toml as Kubernetes, systemd or Compose files, with what has no equivalent.",
	Prepare: func(in *ExportIn, cwd string) error {
		if in.File == "" {
			in.File = "velos.toml"
		}
		if !filepath.IsAbs(in.File) {
			in.File = filepath.Join(cwd, in.File)
		}
		if in.Out != "" && !filepath.IsAbs(in.Out) {
			in.Out = filepath.Join(cwd, in.Out)
		}
		return nil
	},
	// The CLI exports itself: it reads a file the user names and writes
	// files beside it, and needs no daemon for that.
	Local: func(*ExportIn) bool { return true },
	RunLocal: func(ctx context.Context, in ExportIn) (ExportOut, error) {
		return runExport(in, !tool.Verbatim(ctx))
	},
}

// runExport exports in.File; mask hides secret values (output for a model)
// unless the files are written, where they are needed as they are.
func runExport(in ExportIn, mask bool) (ExportOut, error) {
	if in.File == "" {
		return ExportOut{}, fmt.Errorf("export: name a config file, e.g. velos.toml")
	}
	f, err := config.Load(in.File)
	if err != nil {
		return ExportOut{}, err
	}
	o := export.Options{Target: in.Target, Profile: in.Env, Image: in.Image, AppDir: in.AppDir, CronJobs: in.CronJobs,
		MaskSecrets: mask && in.Out == ""}
	r, err := export.Export(f, o)
	if err != nil {
		return ExportOut{}, err
	}
	out := ExportOut{Target: r.Target, Config: r.Config, Files: r.Files, Notes: r.Notes, Next: r.Next}
	if in.Out == "" {
		return out, nil
	}
	out.Written, err = export.Write(in.Out, r.Files)
	if err != nil {
		return ExportOut{}, err
	}
	out.Dir = in.Out
	for i := range out.Files {
		out.Files[i].Content = ""
	}
	dir := in.Out
	if strings.ContainsAny(dir, " \t'\"$&;|<>()*?`\\") {
		dir = "'" + strings.ReplaceAll(dir, "'", `'\''`) + "'"
	}
	for i, c := range out.Next {
		out.Next[i] = strings.ReplaceAll(c, "DIR", dir)
	}
	return out, nil
}
