package arch

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/velos-pm/velos/internal/testenv"
)

// forbidden lists, per binary, the packages (import path prefixes) it must
// not link, and why.
var forbidden = map[string][]rule{
	"./cmd/velos": {
		{"github.com/velos-pm/velos/core/supervisor", "the daemon's domain"},
		{"github.com/velos-pm/velos/core/metrics", "the daemon's sampler and Prometheus endpoint"},
		{"github.com/velos-pm/velos/handlers", "the daemon's handlers (the CLI links the contracts in tools/)"},
		{"github.com/prometheus/", "Prometheus"},
		{"go.opentelemetry.io/", "OpenTelemetry"},
		{"google.golang.org/grpc", "gRPC"},
		{"github.com/shirou/gopsutil", "process statistics"},
		{"github.com/modelcontextprotocol/go-sdk", "the MCP SDK (the CLI's client is internal/mcpclient: one round trip a call)"},
		{"github.com/google/jsonschema-go", "schema inference (the daemon's)"},
	},
	"./cmd/velosd": {
		// Traces go over OTLP/HTTP (core/trace's own exporter): no gRPC.
		{"google.golang.org/grpc", "gRPC"},
		{"github.com/grpc-ecosystem/", "grpc-gateway"},
		// /metrics is collected by core/metrics and encoded by
		// prometheus/common/expfmt: the client's init fills a default
		// registry in every daemon, serving or not.
		{"github.com/prometheus/client_golang", "the Prometheus client"},
		{"charm.land/bubbletea", "the TUI"},
		{"charm.land/lipgloss", "the TUI"},
		{"github.com/alecthomas/kong", "the CLI parser"},
	},
}

type rule struct{ prefix, what string }

// deps is every package pkg links for goos.
func deps(t *testing.T, goos, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg)
	cmd.Dir = testenv.Root()
	cmd.Env = append(cmd.Environ(), "GOOS="+goos)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s (GOOS=%s): %v\n%s", pkg, goos, err, out)
	}
	return strings.Fields(string(out))
}

// violations are the deps that match a rule, each with the rule it breaks.
func violations(deps []string, rules []rule) []string {
	var bad []string
	for _, d := range deps {
		for _, r := range rules {
			if d == strings.TrimSuffix(r.prefix, "/") || strings.HasPrefix(d, r.prefix) {
				bad = append(bad, d+" ("+r.what+")")
			}
		}
	}
	return bad
}

// TestBinariesLinkOnlyWhatTheyRun fails when velos links the daemon's
// domain, metrics, Prometheus, OpenTelemetry, gRPC or gopsutil, or velosd
// links gRPC, bubbletea, lipgloss or kong — on every OS the binaries are
// built for.
func TestBinariesLinkOnlyWhatTheyRun(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for pkg, rules := range forbidden {
			if bad := violations(deps(t, goos, pkg), rules); len(bad) > 0 {
				t.Errorf("GOOS=%s %s links what it must not:\n  %s", goos, pkg, strings.Join(bad, "\n  "))
			}
		}
	}
}

// TestViolationsAreSeen: the check reports a binary that does link a
// forbidden package (velosd, held to the CLI's rules, links the supervisor).
func TestViolationsAreSeen(t *testing.T) {
	bad := violations(deps(t, "linux", "./cmd/velosd"), forbidden["./cmd/velos"])
	if !strings.Contains(strings.Join(bad, " "), "github.com/velos-pm/velos/core/supervisor (the daemon's domain)") {
		t.Fatalf("velosd links the supervisor, but the check saw: %v", bad)
	}
}
