package tools

import (
	"testing"
	"time"

	"github.com/velos-pm/velos/core/logs"
	"github.com/velos-pm/velos/internal/fuzzcheck"
)

// FuzzTimeRange reads arbitrary --since, --until and --last values the
// three ways the tools do: the CLI's preparation of velos logs (which
// sends the daemon RFC 3339 text), the daemon's logs query, and the
// insight tools' ranges. Nothing panics; what the CLI accepts the daemon
// accepts, meaning the same instants; an accepted range is not empty.
func FuzzTimeRange(f *testing.F) {
	for _, s := range [][3]string{
		{"1h", "", ""}, {"2024-01-15 10:00", "2024-01-15 11:00", ""}, {"", "30m", ""}, {"", "", "15m"},
		{"10:00", "09:00", ""}, {"2d", "", "1d"}, {"", "", "1w"}, {"", "", "5x"}, {"2024-01-15T10:00:05.5+02:00", "NaNd", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, since, until, last string) {
		defer fuzzcheck.PerInput(10 * time.Second)()
		now := time.Now()
		r := RangeIn{Since: since, Until: until, Last: last}
		if s, u, err := r.Bounds(now); err == nil && !s.IsZero() && !u.IsZero() && !s.Before(u) {
			t.Fatalf("bounds(%+v) = [%v, %v): empty but accepted", r, s, u)
		}

		in := LogsIn{Since: since, Until: until, Last: last, NoFollow: true}
		if err := prepareLogs(&in, t.TempDir()); err != nil {
			return
		}
		q, _, err := LogsQuery(in, now)
		if err != nil {
			t.Fatalf("the CLI prepared %+v, the daemon refuses it: %v", in, err)
		}
		// The prepared text is RFC 3339: it means one instant wherever it is read.
		for _, c := range []struct {
			text string
			got  time.Time
		}{{in.Since, q.Since}, {in.Until, q.Until}} {
			if c.text == "" {
				continue
			}
			want, err := time.Parse(time.RFC3339Nano, c.text)
			if err != nil || !want.Equal(c.got) {
				t.Fatalf("prepared %q read as %v, want %v (%v)", c.text, c.got, want, err)
			}
			if again, err := logs.ParseTime(c.text, now.Add(time.Hour)); err != nil || !again.Equal(c.got) {
				t.Fatalf("prepared %q depends on the clock: %v, %v", c.text, again, err)
			}
		}
	})
}
