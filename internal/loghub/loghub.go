// Package loghub reads the Loghub 2k log-parsing benchmark (Zhu et al.,
// ICSE-SEIP 2019) for Velos's accuracy tests: each dataset's message
// contents, cut out with its header regex, and the ground-truth templates.
// The data is research-only and is never copied into the repository: it is
// read from $VELOS_DATASETS/loghub or ../shared/datasets/loghub beside the
// checkout, and tests skip with a reason when it is absent.
package loghub

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
)

// Set is one dataset: the message part of every line, and its true template.
type Set struct {
	Name     string
	Contents []string
	Truth    []string
}

// ErrMissing is returned by [Load] when the datasets are not there.
var ErrMissing = errors.New("the Loghub datasets are not there (set VELOS_DATASETS or put them in ../shared/datasets/loghub)")

// Dir is where the datasets are looked for.
func Dir() string {
	if d := os.Getenv("VELOS_DATASETS"); d != "" {
		return filepath.Join(d, "loghub")
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "datasets", "loghub")
}

// Load reads every dataset listed in dir's datasets.json, sorted by name.
func Load(dir string) ([]Set, error) {
	meta, err := os.ReadFile(filepath.Join(dir, "datasets.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMissing, err)
	}
	var m struct {
		Datasets map[string]struct {
			Files struct {
				Log         string `json:"log"`
				GroundTruth string `json:"ground_truth"`
			} `json:"files"`
			HeaderRegex string `json:"header_regex"`
		} `json:"datasets"`
	}
	if err := json.Unmarshal(meta, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, "datasets.json"), err)
	}
	var names []string
	for n := range m.Datasets {
		names = append(names, n)
	}
	sort.Strings(names)
	var sets []Set
	for _, n := range names {
		d := m.Datasets[n]
		re, err := regexp.Compile(d.HeaderRegex)
		if err != nil {
			return nil, fmt.Errorf("%s: header regex: %w", n, err)
		}
		ci := re.SubexpIndex("Content")
		raw, err := os.ReadFile(filepath.Join(dir, d.Files.Log))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		s := Set{Name: n}
		for _, l := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
			sm := re.FindStringSubmatch(strings.TrimSpace(l))
			if sm == nil || ci < 0 {
				return nil, fmt.Errorf("%s: header regex does not match %q", n, l)
			}
			s.Contents = append(s.Contents, sm[ci])
		}
		if s.Truth, err = truth(filepath.Join(dir, d.Files.GroundTruth)); err != nil {
			return nil, fmt.Errorf("%s: ground truth: %w", n, err)
		}
		if len(s.Truth) != len(s.Contents) {
			return nil, fmt.Errorf("%s: %d lines, %d truth rows", n, len(s.Contents), len(s.Truth))
		}
		sets = append(sets, s)
	}
	return sets, nil
}

// truth reads the template column (the last) of a structured CSV.
func truth(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errors.New("empty")
	}
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[len(r)-1])
	}
	return out, nil
}
