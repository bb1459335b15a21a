package insight

import "testing"

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"connection from 1.2.3.4 (host-1.net) at Fri Jun 17 07:07:00 2005", "connection from <*> (<*>) at <*>"},
		{"Received block blk_-123 of size 67108864 from /10.250.19.102", "Received block <*> of size <*> from <*>"},
		{"  retry   in 150ms  ", "retry in <*>"},
		{"user=root uid=0 ruser= tty=NODEVssh", "user=<*> uid=<*> ruser= tty=<*>"},
		{"session opened by (uid=0)", "session opened by (uid=<*>)"},
		{"GET /api/v1/users?id=7 took 2.5s", "GET <*> took <*>"},
		{"dial tcp 10.0.0.1:5432: connect: connection refused", "dial tcp <*>: connect: connection refused"},
		{"req 550e8400-e29b-41d4-a716-446655440000 done", "req <*> done"},
		{"fetch https://example.com/x failed", "fetch <*> failed"},
		{"May the force", "May the force"},
		{"value 0xdeadbeef at 2024-01-02T10:00:00Z", "value <*> at <*>"},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
