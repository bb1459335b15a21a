package insight

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// loghubDir finds the research-only Loghub datasets outside the repository:
// $VELOS_DATASETS/loghub, or ../shared/datasets/loghub next to the checkout.
// They are never copied into the repository (their licence is research-only).
func loghubDir(t testing.TB) string {
	if d := os.Getenv("VELOS_DATASETS"); d != "" {
		return filepath.Join(d, "loghub")
	}
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return ""
	}
	return filepath.Join(strings.TrimSpace(string(out)), "..", "shared", "datasets", "loghub")
}

type loghubSet struct {
	name     string
	contents []string
	truth    []string
}

func loadLoghub(t testing.TB) []loghubSet {
	dir := loghubDir(t)
	meta, err := os.ReadFile(filepath.Join(dir, "datasets.json"))
	if err != nil {
		t.Skipf("Loghub datasets not found (set VELOS_DATASETS or put them in ../shared/datasets/loghub): %v", err)
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
		t.Fatalf("parse datasets.json: %v", err)
	}
	var names []string
	for n := range m.Datasets {
		names = append(names, n)
	}
	sort.Strings(names)
	var sets []loghubSet
	for _, n := range names {
		d := m.Datasets[n]
		re, err := regexp.Compile(strings.ReplaceAll(d.HeaderRegex, "(?P<", "(?P<"))
		if err != nil {
			t.Fatalf("%s: header regex: %v", n, err)
		}
		ci := re.SubexpIndex("Content")
		raw, err := os.ReadFile(filepath.Join(dir, d.Files.Log))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		var contents []string
		for _, l := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
			sm := re.FindStringSubmatch(strings.TrimSpace(l))
			if sm == nil {
				t.Fatalf("%s: header regex does not match %q", n, l)
			}
			contents = append(contents, sm[ci])
		}
		f, err := os.Open(filepath.Join(dir, d.Files.GroundTruth))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatalf("%s: ground truth: %v", n, err)
		}
		var truth []string
		for _, r := range recs[1:] {
			truth = append(truth, r[len(r)-1])
		}
		if len(truth) != len(contents) {
			t.Fatalf("%s: %d lines, %d truth rows", n, len(contents), len(truth))
		}
		sets = append(sets, loghubSet{name: n, contents: contents, truth: truth})
	}
	return sets
}

func normSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func parsingAccuracy(pred, truth []string) float64 {
	ok := 0
	for i := range pred {
		if normSpace(pred[i]) == normSpace(truth[i]) {
			ok++
		}
	}
	return float64(ok) / float64(len(pred))
}

// gaFloor is a regression floor a little under the average GA reached.
const gaFloor = 0.95

func TestLoghubAccuracy(t *testing.T) {
	sets := loadLoghub(t)
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%-10s %6s %6s %6s %9s\n", "dataset", "GA", "PA", "groups", "GA-online")
	var sumGA, sumPA, sumOn float64
	for _, s := range sets {
		pred := Templates(s.contents)
		ga, pa := GroupingAccuracy(pred, s.truth), parsingAccuracy(pred, s.truth)
		groups := map[string]bool{}
		for _, p := range pred {
			groups[p] = true
		}
		on := GroupingAccuracy(onlineTemplates(s.contents), s.truth)
		sumGA += ga
		sumPA += pa
		sumOn += on
		fmt.Fprintf(&sb, "%-10s %6.3f %6.3f %6d %9.3f\n", s.name, ga, pa, len(groups), on)
		if os.Getenv("LOGHUB_DEBUG") == s.name {
			debugGroups(t, s, pred)
		}
	}
	avgGA, avgPA := sumGA/float64(len(sets)), sumPA/float64(len(sets))
	fmt.Fprintf(&sb, "%-10s %6.3f %6.3f %6s %9.3f\n", "average", avgGA, avgPA, "", sumOn/float64(len(sets)))
	sb.WriteString("GA, PA: Templates (batch, per-line API). GA-online: the streaming Miner alone, final templates.\n")
	t.Log(sb.String())
	if avgGA < gaFloor {
		t.Errorf("average GA %.3f below floor %.3f", avgGA, gaFloor)
	}
}

// onlineTemplates runs the streaming [Miner] (what the [Analyzer] uses)
// and returns each line's final template.
func onlineTemplates(lines []string) []string {
	m := NewMiner(MinerConfig{})
	ids := make([]int, len(lines))
	for i, l := range lines {
		ids[i] = m.Add(l)
	}
	out := make([]string, len(lines))
	for i, id := range ids {
		out[i], _ = m.Template(id)
	}
	return out
}

// debugGroups prints the wrongly grouped lines of one dataset
// (LOGHUB_DEBUG=<name>), for iterating on the masking rules.
func debugGroups(t *testing.T, s loghubSet, pred []string) {
	byTruth := map[string]map[string]int{}
	for i := range pred {
		if byTruth[s.truth[i]] == nil {
			byTruth[s.truth[i]] = map[string]int{}
		}
		byTruth[s.truth[i]][pred[i]]++
	}
	byPred := map[string]map[string]int{}
	for i := range pred {
		if byPred[pred[i]] == nil {
			byPred[pred[i]] = map[string]int{}
		}
		byPred[pred[i]][s.truth[i]]++
	}
	for tr, ps := range byTruth {
		if len(ps) > 1 {
			t.Logf("SPLIT truth %q:", tr)
			for p, n := range ps {
				t.Logf("    %4d %q", n, p)
			}
		}
	}
	for p, ts := range byPred {
		if len(ts) > 1 {
			t.Logf("MERGED pred %q:", p)
			for tr, n := range ts {
				t.Logf("    %4d %q", n, tr)
			}
		}
	}
}
