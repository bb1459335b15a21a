package export

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
	kyaml "sigs.k8s.io/yaml"
)

// composeSchema is the Compose Specification's own schema (Apache-2.0,
// vendored unchanged: testdata/compose-spec/README.md).
func composeSchema(t *testing.T) *jsonschema.Resolved {
	t.Helper()
	b, err := os.ReadFile("testdata/compose-spec/compose-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	// The file names draft-07 without the trailing "#" the library looks for.
	if s.Schema == "https://json-schema.org/draft-07/schema" {
		s.Schema = "http://json-schema.org/draft-07/schema#"
	}
	// The schema's $id is relative; any absolute base resolves its own refs.
	r, err := s.Resolve(&jsonschema.ResolveOptions{BaseURI: "file:///compose-spec/"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// validateCompose checks a Compose file against the compose-spec schema.
func validateCompose(t *testing.T, schema *jsonschema.Resolved, content string) error {
	t.Helper()
	j, err := kyaml.YAMLToJSONStrict([]byte(content))
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		return err
	}
	return schema.Validate(v)
}

// dockerCompose runs `docker-compose config` (the Debian package; it needs
// no engine) on Compose files written side by side, each checked against
// docker-compose's own schema, and returns the merged config it prints;
// it skips where docker-compose is missing. One run for several files:
// each run costs two seconds of Python start-up.
func dockerCompose(t *testing.T, composeFiles map[string][]File, env ...string) (string, error) {
	t.Helper()
	dc, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose is not installed (.ci/run installs the Debian package)")
	}
	dir := t.TempDir()
	var args []string
	for name, files := range composeFiles {
		for _, f := range files {
			fn := f.Name
			if fn == ComposeFile {
				fn = name + ".yaml"
				args = append(args, "-f", fn)
			}
			if err := os.WriteFile(filepath.Join(dir, fn), []byte(f.Content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd := exec.Command(dc, append(args, "config")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, out)
	}
	return string(out), nil
}

func TestComposeValidates(t *testing.T) {
	schema := composeSchema(t)
	all := map[string][]File{}
	for _, c := range cases {
		r := exportCase(t, c.name, c.config, Compose, options(c.name, Compose))
		if r.Files[0].Name != ComposeFile {
			t.Fatalf("%s: first file is %s", c.name, r.Files[0].Name)
		}
		if err := validateCompose(t, schema, r.Files[0].Content); err != nil {
			t.Errorf("%s: compose-spec schema: %v\n%s", c.name, err, r.Files[0].Content)
		}
		all[c.name] = r.Files
	}
	t.Run("docker-compose", func(t *testing.T) {
		// A variable of the host's must not leak into a shell line's $.
		out, err := dockerCompose(t, all, "REPORT_DIR=/from/the/host")
		if err != nil {
			t.Fatalf("docker-compose config: %v", err)
		}
		for _, want := range []string{"web:", "api:", "mailer:", "report:", "SMTP_PASSWORD: correct-horse", `--out "$$REPORT_DIR"`} {
			if !strings.Contains(out, want) {
				t.Errorf("docker-compose config lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "/from/the/host") {
			t.Errorf("Compose interpolated the shell line's $REPORT_DIR:\n%s", out)
		}
	})
}

func TestComposeValidationCanFail(t *testing.T) {
	schema := composeSchema(t)
	r := exportCase(t, "worker", "testdata/worker/velos.toml", Compose, options("worker", Compose))
	bad := strings.Replace(r.Files[0].Content, "stop_grace_period:", "stop_grace:", 1)
	if err := validateCompose(t, schema, bad); err == nil {
		t.Error("the schema accepted an unknown service key")
	}
	r.Files[0].Content = bad
	t.Run("docker-compose", func(t *testing.T) {
		if _, err := dockerCompose(t, map[string][]File{"worker": r.Files}); err == nil {
			t.Error("docker-compose config accepted an unknown service key")
		}
	})
}
