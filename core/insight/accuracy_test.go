package insight

import "testing"

func TestGroupingAccuracy(t *testing.T) {
	truth := []string{"a", "a", "b", "c", "c"}
	cases := []struct {
		pred []string
		want float64
	}{
		{[]string{"x", "x", "y", "z", "z"}, 1},   // same partition, other names
		{[]string{"x", "x", "x", "z", "z"}, 0.4}, // a and b merged: only c's two lines count
		{[]string{"x", "y", "b", "c", "c"}, 0.6}, // a split: b and c count
		{[]string{"x", "x", "y", "z"}, 0},        // lengths differ
	}
	for _, c := range cases {
		if got := GroupingAccuracy(c.pred, truth); got != c.want {
			t.Errorf("GroupingAccuracy(%v) = %v, want %v", c.pred, got, c.want)
		}
	}
}
