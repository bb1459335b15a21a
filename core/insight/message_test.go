package insight

import "testing"

func TestMessageOf(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"2024-01-02 10:05:03,120 ERROR [12] connection refused", "connection refused"},
		{"2024-01-02T10:05:03.123456+02:00 WARN slow", "slow"},
		{"[2024-01-02 10:05:03] INFO started", "started"},
		{"1700000000 job done", "job done"},
		{"10:05:03 listening", "listening"},
		// Numbers that are the message's own stay.
		{"63543 double-hummer alignment exceptions", "63543 double-hummer alignment exceptions"},
		{"10.251.194.213:50010 Served block blk_1", "10.251.194.213:50010 Served block blk_1"},
		{"1.2.3 released", "1.2.3 released"},
		{`{"level":"error","msg":"boom","err":"EOF"}`, "boom: EOF"},
		{`time=2024-01-02T10:05:03Z level=info msg="job finished" job=7`, "job finished job=7"},
	} {
		if got := messageOf(c.in); got != c.want {
			t.Errorf("messageOf(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
