package insight

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// The failure classes of tree and similarity parsers on logs nobody tuned
// for (issue 14), each on a made-up log whose true templates are known:
// none of these lines comes from a benchmark.

type labelled struct {
	lines, truth []string
}

func (l *labelled) add(truth, line string) {
	l.lines = append(l.lines, line)
	l.truth = append(l.truth, truth)
}

var hostWords = []string{"api", "www", "cdn", "mail", "auth", "static", "img", "search", "maps", "news", "shop", "docs"}
var domains = []string{"example.com", "example.org", "corp.example.net", "test.invalid"}

func wordHost(r *rand.Rand) string {
	return hostWords[r.IntN(len(hostWords))] + "." + domains[r.IntN(len(domains))]
}

// optionalFragments: one event whose lines carry an optional value with a
// unit in parentheses, and a duration written two ways.
func optionalFragments(r *rand.Rand) labelled {
	var l labelled
	const tClose = "<*> close, <*> bytes sent, <*> bytes received, lifetime <*>"
	for i := 0; i < 400; i++ {
		sent, recv := r.IntN(5000), r.IntN(900000)
		s := fmt.Sprintf("%d bytes", sent)
		if sent > 1024 {
			s += fmt.Sprintf(" (%.2f KB)", float64(sent)/1024)
		}
		v := fmt.Sprintf("%d bytes", recv)
		if recv > 1024 {
			v += fmt.Sprintf(" (%.2f KB)", float64(recv)/1024)
		}
		life := fmt.Sprintf("00:%02d", r.IntN(60))
		if r.IntN(4) == 0 {
			life = "<1 sec"
		}
		l.add(tClose, fmt.Sprintf("%s:%d close, %s sent, %s received, lifetime %s", wordHost(r), 443+r.IntN(2)*7000, s, v, life))
		if i%4 == 0 {
			l.add("<*> open through proxy <*> HTTPS", fmt.Sprintf("%s:443 open through proxy proxy.%s:%d HTTPS", wordHost(r), domains[r.IntN(len(domains))], 3128+r.IntN(3)))
		}
	}
	return l
}

// nearEndConstants: events that differ only in one constant word near the
// end, next to a variable-only event, and a rare variant that differs in a
// token's constant text.
func nearEndConstants(r *rand.Rand) labelled {
	var l labelled
	states := []string{"RUNNING", "FINISHED", "FAILED", "KILLED"}
	for i := 0; i < 600; i++ {
		st := states[r.IntN(len(states))]
		l.add("Task <*> of job <*> changed state to "+st, fmt.Sprintf("Task attempt_%d_%04d of job job_%d changed state to %s", r.IntN(1e6), r.IntN(100), r.IntN(1e4), st))
		if i%3 == 0 {
			l.add("session opened for user <*> by (uid=<*>)", fmt.Sprintf("session opened for user %s by (uid=%d)", []string{"alice", "bob", "carol", "dave", "erin"}[r.IntN(5)], r.IntN(1000)))
		}
	}
	l.add("session opened for user <*> by LOGIN(uid=<*>)", "session opened for user root by LOGIN(uid=0)")
	// A rare constant beside a dominant one.
	for i := 0; i < 300; i++ {
		st := "accepted"
		if i%25 == 0 {
			st = "rejected"
		}
		l.add("Lease <*> for node <*> was "+st, fmt.Sprintf("Lease lease_%d for node n%d was %s", r.IntN(1e6), r.IntN(50), st))
	}
	return l
}

// leadingWordVariables: a host name without digits first in the line,
// many of them, and paths written inside tokens and Windows-style.
func leadingWordVariables(r *rand.Rand) labelled {
	var l labelled
	for i := 0; i < 500; i++ {
		l.add("<*> resolved in <*>", fmt.Sprintf("%s resolved in %dms", wordHost(r), r.IntN(300)))
		if i%2 == 0 {
			l.add("chdir(<*>) failed: No such file or directory", fmt.Sprintf("chdir(/home/%s/%s) failed: No such file or directory", hostWords[r.IntN(len(hostWords))], []string{"work", "tmp", "src"}[r.IntN(3)]))
		}
		if i%5 == 0 {
			l.add("Loaded <*> with Core: <*>", fmt.Sprintf(`Loaded C:\Windows\WinSxS\%s_%d\stack.dll with Core: C:\Windows\%s\core.dll`, hostWords[r.IntN(len(hostWords))], r.IntN(99), []string{"System32", "SysWOW64"}[r.IntN(2)]))
		}
	}
	return l
}

func TestGeneralisesOnFailureClasses(t *testing.T) {
	for _, c := range []struct {
		name string
		gen  func(*rand.Rand) labelled
	}{
		{"optional fragments", optionalFragments},
		{"near-end constants", nearEndConstants},
		{"leading word variables and paths", leadingWordVariables},
	} {
		l := c.gen(rand.New(rand.NewPCG(1, 2)))
		pred := Templates(l.lines)
		if ga := GroupingAccuracy(pred, l.truth); ga < 1 {
			byTruth := map[string]map[string]int{}
			for i := range pred {
				if byTruth[l.truth[i]] == nil {
					byTruth[l.truth[i]] = map[string]int{}
				}
				byTruth[l.truth[i]][pred[i]]++
			}
			var b strings.Builder
			for tr, ps := range byTruth {
				fmt.Fprintf(&b, "\n  truth %q:", tr)
				for p, n := range ps {
					fmt.Fprintf(&b, "\n    %4d %q", n, p)
				}
			}
			t.Errorf("%s: GA %.3f, want 1%s", c.name, ga, b.String())
		}
	}
}
