package insight

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in string
		secrets  []string // must be gone
		keep     []string // must stay
	}{
		{"openai", "using key sk-abcdefghijklmnopqrstuvwxyz0123", []string{"abcdefghijklmnopqrstuvwxyz0123"}, []string{"using key"}},
		{"anthropic", "ANTHROPIC=sk-ant-api03-abcdefghijklmnopqrstuv", []string{"abcdefghijklmnopqrstuv"}, nil},
		{"github", "push with ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok", []string{"ghp_abcdefghijklmnopqrstuvwxyz0123456789"}, []string{"push with", "ok"}},
		{"github_pat", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", []string{"abcdefghijklmnopqrstuvwxyz"}, nil},
		{"aws", "aws key AKIAIOSFODNN7EXAMPLE loaded", []string{"AKIAIOSFODNN7EXAMPLE"}, []string{"loaded"}},
		{"slack", "token xoxb-123456789012-abcdefghijkl", []string{"xoxb-123456789012-abcdefghijkl"}, nil},
		{"bearer", "Authorization: Bearer abc.def-ghi_jkl0123", []string{"abc.def-ghi_jkl0123"}, []string{"Authorization: Bearer"}},
		{"url", "connecting to postgres://app:hunter2@db.internal:5432/app", []string{"hunter2"}, []string{"postgres://app:", "@db.internal:5432/app"}},
		{"password_pair", "login password=hunter2 user=bob", []string{"hunter2"}, []string{"user=bob"}},
		{"secret_colon", "secret: s3cr3t-value next", []string{"s3cr3t-value"}, []string{"next"}},
		{"token_pair", "GET /cb?token=abc123&x=1", []string{"abc123"}, []string{"x=1"}},
		{"json_pair", `{"user":"bob","password":"hunter2","api_key":"k-123"}`, []string{"hunter2", "k-123"}, []string{`"user":"bob"`}},
		{"jwt", "session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", []string{"dozjgNryP4J3jVmNHl0w5N"}, nil},
		{"private_key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", []string{"MIIEpAIBAAKCAQEA"}, nil},
		{"private_key_line", "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXk", []string{"b3BlbnNzaC1rZXk"}, nil},
		{"stripe", "charge with sk_live_abcdefghijklmnop1234", []string{"abcdefghijklmnop1234"}, nil},
		{"google", "maps AIzaSyA-abcdefghijklmnopqrstuvwxyz01234", []string{"AIzaSyA-abcdefghijklmnopqrstuvwxyz01234"}, nil},
		{"long_s", "login paſſword=hunter2 user=bob", []string{"hunter2"}, []string{"user=bob"}}, // "ſ" folds to "s" in the rules
		{"plain", "GET /health 200 3ms", nil, []string{"GET /health 200 3ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.in)
			for _, s := range tt.secrets {
				if strings.Contains(got, s) {
					t.Errorf("Redact(%q) = %q, still contains %q", tt.in, got, s)
				}
			}
			for _, s := range tt.keep {
				if !strings.Contains(got, s) {
					t.Errorf("Redact(%q) = %q, lost %q", tt.in, got, s)
				}
			}
		})
	}
}

func TestRedactionRuleExamples(t *testing.T) {
	for _, r := range RedactionRules() {
		if got := Redact(r.Example); !strings.Contains(got, Redacted) {
			t.Errorf("rule %s: example %q not redacted: %q", r.Name, r.Example, got)
		}
	}
}
