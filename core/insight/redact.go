package insight

import (
	"regexp"
	"strings"
	"sync"
)

// Redacted replaces a secret in text given to an agent.
const Redacted = "[REDACTED]"

// RedactionRule is one kind of secret that [Redact] masks.
type RedactionRule struct {
	// Name is a stable identifier, e.g. "github_token".
	Name string `json:"name"`
	// Description says what the rule matches, for the docs.
	Description string `json:"description"`
	// Example is a made-up text the rule masks (used by the tests).
	Example string `json:"example"`
	re      *regexp.Regexp
	// repl is the regexp replacement; "" means the whole match becomes
	// [Redacted].
	repl string
}

// redactionRules is applied in order: structural rules (key blocks, URLs,
// key=value pairs) before token shapes, so a token inside a pair is masked
// once. Compiled on first use: every velos command links this package.
var redactionRules = sync.OnceValue(func() []RedactionRule {
	return []RedactionRule{
		{
			Name: "private_key", Description: "PEM private key blocks (-----BEGIN … PRIVATE KEY----- … END), or the rest of the line after a BEGIN marker",
			Example: "-----BEGIN RSA PRIVATE KEY-----MIIEpAIBAAKCAQEA-----END RSA PRIVATE KEY-----",
			re:      regexp.MustCompile(`-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*)`),
			repl:    "-----BEGIN ${1}PRIVATE KEY-----" + Redacted,
		},
		{
			Name: "url_password", Description: "the password in a URL's user info (scheme://user:password@host)",
			Example: "postgres://app:hunter2@db:5432/app",
			re:      regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@`),
			repl:    "${1}" + Redacted + "@",
		},
		{
			Name: "bearer_token", Description: "Authorization header credentials: Bearer / Basic / Token followed by a token",
			Example: "Authorization: Bearer abcdef0123456789xyz",
			re:      regexp.MustCompile(`(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{8,}`),
			repl:    "${1}${2}" + Redacted,
		},
		{
			Name: "jwt", Description: "JSON Web Tokens (three base64url parts, the first two starting eyJ)",
			Example: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
			re:      regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}`),
		},
		{
			Name: "secret_pair", Description: "values of key=value, key: value and \"key\":\"value\" pairs whose key names a secret (password, passwd, pwd, secret, token, api_key, apikey, access_key, secret_key, private_key, client_secret, credentials, auth, session, cookie)",
			Example: `password=hunter2 "api_key": "abc123" secret: s3cr3t`,
			re:      regexp.MustCompile(`(?i)([A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth|session[_-]?id|cookie)"?)(\s*[:=]\s*)("?)([^\s"',;&}]+)`),
			repl:    "${1}${2}${3}" + Redacted,
		},
		{
			Name: "openai_key", Description: "OpenAI and Anthropic API keys (sk-…, sk-proj-…, sk-ant-…)",
			Example: "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
			re:      regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{20,}`),
		},
		{
			Name: "github_token", Description: "GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
			Example: "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
			re:      regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})`),
		},
		{
			Name: "gitlab_token", Description: "GitLab personal access tokens (glpat-…)",
			Example: "glpat-abcdefghij0123456789",
			re:      regexp.MustCompile(`\bglpat-[A-Za-z0-9_-]{20,}`),
		},
		{
			Name: "aws_access_key", Description: "AWS access key ids (AKIA…, ASIA…)",
			Example: "AKIAIOSFODNN7EXAMPLE",
			re:      regexp.MustCompile(`\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b`),
		},
		{
			Name: "slack_token", Description: "Slack tokens (xoxb-, xoxp-, xoxa-, xoxo-, xoxs-, xoxr-) and webhook URLs",
			Example: "xoxb-1234567890-abcdefghijkl",
			re:      regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/[A-Za-z0-9/]+`),
		},
		{
			Name: "stripe_key", Description: "Stripe keys (sk_live_, rk_live_, sk_test_, …)",
			Example: "sk_live_abcdefghijklmnop1234",
			re:      regexp.MustCompile(`\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}`),
		},
		{
			Name: "google_api_key", Description: "Google API keys (AIza…)",
			Example: "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
			re:      regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}`),
		},
	}
})

// RedactionRules returns the rules [Redact] applies, in order, so docs can
// list them. The slice is a copy.
func RedactionRules() []RedactionRule {
	return append([]RedactionRule(nil), redactionRules()...)
}

// redactHints are substrings one of which every rule's match contains
// (case-insensitively, as lower case); text with none of them is returned
// as is without running any regexp.
var redactHints = []string{"private key", "://", "bearer", "basic", "token", "eyj", "pass", "pwd", "secret", "key", "credential", "auth", "session", "cookie", "sk-", "gh", "glpat-", "akia", "asia", "agpa", "aida", "aroa", "xox", "k_live_", "k_test_", "aiza"}

// Redact masks secrets in text with [Redacted], following
// [RedactionRules]. It is meant for text handed to an agent or printed;
// it does not change stored logs.
func Redact(text string) string {
	lower := strings.ToLower(text)
	// The rules match case-insensitively by Unicode simple folding, where
	// "ſ" (long s) is an "s" and the Kelvin sign a "k"; ToLower turns the
	// Kelvin sign into "k" but keeps "ſ", and "paſſword=…" skipped the rules.
	lower = strings.ReplaceAll(lower, "ſ", "s")
	hit := false
	for _, h := range redactHints {
		if strings.Contains(lower, h) {
			hit = true
			break
		}
	}
	if !hit {
		return text
	}
	rules := redactionRules()
	for i := range rules {
		r := &rules[i]
		if r.repl == "" {
			text = r.re.ReplaceAllLiteralString(text, Redacted)
		} else {
			text = r.re.ReplaceAllString(text, r.repl)
		}
	}
	return text
}
