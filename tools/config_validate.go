package tools

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"

	"github.com/velos-pm/velos/core/config"
	"github.com/velos-pm/velos/tool"
)

// ConfigValidateIn names the file to check.
type ConfigValidateIn struct {
	File string `json:"file" arg:"" brief:"-" help:"Config file to check, e.g. velos.toml."`
}

// ConfigProcess is one process a valid file defines, as it would run.
type ConfigProcess struct {
	Name      string   `json:"name" col:"NAME"`
	Command   []string `json:"command" col:"COMMAND" ai:"cmd"`
	Instances int      `json:"instances" col:"INSTANCES" ai:"n"`
	// Profiles are the env profiles it defines.
	Profiles []string `json:"profiles" col:"PROFILES" ai:"prof"`
}

// ConfigValidateOut is a file that passed every check.
type ConfigValidateOut struct {
	File      string          `json:"file"`
	Processes []ConfigProcess `json:"processes"`
}

// ConfigValidate is config_validate.
var ConfigValidate = &tool.Def[ConfigValidateIn, ConfigValidateOut]{
	Name: "config_validate", CLI: "config validate", Title: "Check a config file", Effect: tool.ReadOnly,
	Summary: "Check a velos.toml without starting anything.",
	Prepare: func(in *ConfigValidateIn, cwd string) error {
		if in.File != "" && !filepath.IsAbs(in.File) {
			in.File = filepath.Join(cwd, in.File)
		}
		return nil
	},
	// The CLI checks the file itself: validating needs no daemon (CI, a
	// pre-commit hook), and starting one for it would be a side effect.
	Local: func(*ConfigValidateIn) bool { return true },
	RunLocal: func(ctx context.Context, in ConfigValidateIn) (ConfigValidateOut, error) {
		return validateFile(in.File)
	},
}

// validateFile loads a file and resolves it with no profile and with each
// profile it defines, so a bad value in any profile is found too. All the
// problems come back in one *config.Error, in file order, each once.
func validateFile(path string) (ConfigValidateOut, error) {
	if path == "" {
		return ConfigValidateOut{}, errors.New("config validate: name a config file, e.g. velos.toml")
	}
	f, err := config.Load(path)
	if err != nil {
		return ConfigValidateOut{}, err
	}
	profiles := []string{""}
	for _, e := range f.Processes {
		for p := range e.Process.EnvProfiles {
			if !slices.Contains(profiles, p) {
				profiles = append(profiles, p)
			}
		}
	}
	slices.Sort(profiles[1:])
	var probs []config.Problem
	seen := map[string]bool{}
	out := ConfigValidateOut{File: f.Path, Processes: []ConfigProcess{}}
	for _, prof := range profiles {
		specs, err := f.Resolve(prof)
		var ce *config.Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				if k := p.Error(); !seen[k] {
					seen[k] = true
					probs = append(probs, p)
				}
			}
			continue
		} else if err != nil {
			return ConfigValidateOut{}, err
		}
		if prof != "" {
			continue
		}
		for i, s := range specs {
			cp := ConfigProcess{Name: s.Name, Command: s.Command, Instances: max(s.Instances, 1), Profiles: []string{}}
			for p := range f.Processes[i].Process.EnvProfiles {
				cp.Profiles = append(cp.Profiles, p)
			}
			slices.Sort(cp.Profiles)
			out.Processes = append(out.Processes, cp)
		}
	}
	if len(probs) > 0 {
		slices.SortStableFunc(probs, func(a, b config.Problem) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return strings.Compare(a.Key, b.Key)
		})
		return ConfigValidateOut{}, &config.Error{Problems: probs}
	}
	return out, nil
}
