package insight

import (
	"fmt"
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
