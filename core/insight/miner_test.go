package insight

import (
	"fmt"
	"strings"
	"testing"
)

func TestPerLine(t *testing.T) {
	var lines []string
	for i := 0; i < 30; i++ {
		lines = append(lines, fmt.Sprintf("VM %s (Lifecycle Event) for instance %d", []string{"Started", "Stopped", "Paused"}[i%3], i))
		lines = append(lines, fmt.Sprintf("Invalid user %s from 10.0.0.%d", word(i+30), i))
	}
	got := PerLine(lines)
	want := map[int]string{
		1: "VM Started (Lifecycle Event) for instance <*>",
		2: "Invalid user <*> from <*>",
		3: "VM Stopped (Lifecycle Event) for instance <*>",
	}
	for n, w := range want {
		if got[n-1].Line != n || got[n-1].Template != w {
			t.Errorf("line %d: got %+v, want %q", n, got[n-1], w)
		}
	}
}

func TestMinerEvictsAndStaysBounded(t *testing.T) {
	m := NewMiner(MinerConfig{MaxTemplates: 10})
	for i := 0; i < 1000; i++ {
		m.Add(fmt.Sprintf("%s %s %s", word(i), word(i+1), word(i+2)))
	}
	if m.Len() > 10 {
		t.Errorf("templates = %d, want <= 10", m.Len())
	}
}

// TestLineMinerBounded: past MaxMessages distinct messages, the first pass
// evicts, and the second still gives every line a template: its
// message's pattern, or the online template's it fits.
func TestLineMinerBounded(t *testing.T) {
	lm := NewLineMiner(MinerConfig{MaxMessages: 20})
	var lines []string
	for i := 0; i < 500; i++ {
		lines = append(lines, fmt.Sprintf("cache miss for %s after %dms", word(i), i), fmt.Sprintf("job %s finished", word(i+7)))
	}
	for _, l := range lines {
		lm.Add(l)
	}
	if n := len(lm.m.msgs); n > 20 {
		t.Fatalf("%d messages kept, want <= 20", n)
	}
	for _, l := range lines {
		want := "cache miss for <*> after <*>"
		if strings.HasPrefix(l, "job") {
			want = "job <*> finished"
		}
		if got := lm.Template(l); got != want {
			t.Fatalf("%q: template %q, want %q", l, got, want)
		}
	}
}
