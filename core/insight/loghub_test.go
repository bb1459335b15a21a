package insight

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/velos-pm/velos/internal/loghub"
)

// loadLoghub reads the research-only Loghub datasets from outside the
// repository, or skips the test saying why.
func loadLoghub(t testing.TB) []loghub.Set {
	sets, err := loghub.Load(loghub.Dir())
	if errors.Is(err, loghub.ErrMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
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
		pred := Templates(s.Contents)
		ga, pa := GroupingAccuracy(pred, s.Truth), parsingAccuracy(pred, s.Truth)
		groups := map[string]bool{}
		for _, p := range pred {
			groups[p] = true
		}
		on := GroupingAccuracy(onlineTemplates(s.Contents), s.Truth)
		sumGA += ga
		sumPA += pa
		sumOn += on
		fmt.Fprintf(&sb, "%-10s %6.3f %6.3f %6d %9.3f\n", s.Name, ga, pa, len(groups), on)
		if os.Getenv("LOGHUB_DEBUG") == s.Name {
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
func debugGroups(t *testing.T, s loghub.Set, pred []string) {
	byTruth := map[string]map[string]int{}
	for i := range pred {
		if byTruth[s.Truth[i]] == nil {
			byTruth[s.Truth[i]] = map[string]int{}
		}
		byTruth[s.Truth[i]][pred[i]]++
	}
	byPred := map[string]map[string]int{}
	for i := range pred {
		if byPred[pred[i]] == nil {
			byPred[pred[i]] = map[string]int{}
		}
		byPred[pred[i]][s.Truth[i]]++
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
