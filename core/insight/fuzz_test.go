package insight

import (
	"testing"
	"time"

	"github.com/velos-pm/velos/internal/fuzzcheck"
)

// FuzzMask masks and redacts arbitrary lines: nothing panics, and the
// quick check Redact makes before running its rules never skips a line a
// rule would change.
func FuzzMask(f *testing.F) {
	for _, s := range []string{
		"GET /api/users/42 200 12ms", "user=alice id=0x1f3a took 3.5s", "2024-01-15T10:00:05Z ERROR db: timeout after 30s",
		"Authorization: Bearer abc.def.ghi", "postgres://u:hunter2@db:5432/x", "password=hunter2 token=ghp_0123456789abcdefghijABCDEFGHIJ012345",
		"paſſword=hunter2", "AKIAIOSFODNN7EXAMPLE", "\x1b[31mred\x1b[0m \xff\xfe", "  a\tb  ", "C:\\Users\\x\\file.txt:12",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		defer fuzzcheck.PerInput(10 * time.Second)()
		_ = Mask(s)
		want := s
		rules := redactionRules()
		for i := range rules {
			r := &rules[i]
			if r.repl == "" {
				want = r.re.ReplaceAllLiteralString(want, Redacted)
			} else {
				want = r.re.ReplaceAllString(want, r.repl)
			}
		}
		if got := Redact(s); got != want {
			t.Fatalf("Redact(%q) = %q, but its rules give %q", s, got, want)
		}
	})
}
