package tools_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/velos-pm/velos/evals"
	"github.com/velos-pm/velos/handlers"
	"github.com/velos-pm/velos/tool"
	"github.com/velos-pm/velos/tool/schema"
	"github.com/velos-pm/velos/tools"
)

var update = flag.Bool("update", false, "rewrite generated files (schemas/, README reference)")

var snake = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)+$`)

func TestRegistry(t *testing.T) {
	names, clis := map[string]bool{}, map[string]bool{}
	for _, e := range tools.All {
		i := e.Info()
		t.Run(i.Name, func(t *testing.T) {
			if !snake.MatchString(i.Name) || len(i.Name) > 64 {
				t.Errorf("name %q is not snake_case noun_verb", i.Name)
			}
			if names[i.Name] {
				t.Errorf("duplicate tool name %q", i.Name)
			}
			names[i.Name] = true
			for _, c := range append(append([]string{i.CLI}, i.Aliases...), i.JSONAliases...) {
				if c == "" || clis[c] {
					t.Errorf("CLI name %q empty or used twice", c)
				}
				clis[c] = true
			}
			if i.Summary == "" || i.Title == "" || !strings.HasSuffix(i.Summary, ".") {
				t.Errorf("summary %q / title %q: both needed, summary a sentence", i.Summary, i.Title)
			}
			a := handlers.Annotations(i)
			switch i.Effect {
			case tool.ReadOnly:
				if !a.ReadOnlyHint {
					t.Error("read-only tool without readOnlyHint")
				}
			case tool.Mutating:
				if a.ReadOnlyHint || a.DestructiveHint == nil || *a.DestructiveHint {
					t.Error("mutating tool must say destructiveHint=false")
				}
			case tool.Destructive:
				if a.ReadOnlyHint || a.DestructiveHint == nil || !*a.DestructiveHint {
					t.Error("destructive tool must say destructiveHint=true")
				}
			default:
				t.Error("effect not set")
			}
			if a.OpenWorldHint == nil || *a.OpenWorldHint {
				t.Error("openWorldHint must be false: velos acts on its own processes only")
			}
			in, err := schema.Input(e)
			if err != nil {
				t.Fatal(err)
			}
			checkDescribed(t, e.InType(), in)
			if err := objectSchemasOnly(e); err != nil {
				t.Error(err)
			}
			checkRequired(t, e.InType(), in.Required)
			if _, err := os.Stat(filepath.Join("..", "schemas", i.Name+".json")); err != nil {
				t.Errorf("no schema file: %v (run make generate)", err)
			}
			if _, ok := evals.Find(i.Name); !ok {
				t.Errorf("no eval case in evals/cases.go")
			}
		})
	}
}

// objectSchemasOnly fails on any boolean subschema in the tool's schemas as
// MCP clients receive them: the TypeScript SDK rejects the whole tools/list
// over one.
func objectSchemasOnly(e tool.Entry) error {
	in, err := schema.Input(e)
	if err != nil {
		return err
	}
	out, err := schema.Output(e)
	if err != nil {
		return err
	}
	result, err := schema.Result(e)
	if err != nil {
		return err
	}
	return noBoolSubschemas(e.Info().Name, map[string]*jsonschema.Schema{"input": in, "output": out, "result": result})
}

func noBoolSubschemas(name string, schemas map[string]*jsonschema.Schema) error {
	for which, s := range schemas {
		raw, err := json.Marshal(s)
		if err != nil {
			return err
		}
		bad, err := schema.BoolSubschemas(raw)
		if err != nil {
			return err
		}
		if len(bad) > 0 {
			return fmt.Errorf("%s %s schema has boolean subschemas at %v: give them an object schema", name, which, bad)
		}
	}
	return nil
}

// checkDescribed: every input field has a help tag (the CLI's help and the
// README's), and its schema property a description (its brief tag, else its
// help) unless brief:"-" says the name is enough.
func checkDescribed(t *testing.T, typ reflect.Type, s *jsonschema.Schema) {
	t.Helper()
	for i := 0; i < typ.NumField(); i++ {
		sf := typ.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if sf.Anonymous && name == "" {
			checkDescribed(t, sf.Type, s)
			continue
		}
		if !sf.IsExported() || name == "-" {
			continue
		}
		if tool.Help(sf) == "" {
			t.Errorf("input field %s (%s) has no help tag", sf.Name, name)
		}
		p := s.Properties[name]
		if p == nil {
			t.Errorf("input field %s: no schema property %q", sf.Name, name)
			continue
		}
		if p.Description == "" && sf.Tag.Get("brief") != "-" {
			t.Errorf("input property %q has no description (brief or help tag)", name)
		}
	}
}

func TestBoolSubschemaCaught(t *testing.T) {
	// A deliberately broken output schema: a property declared as the
	// boolean schema true, as an `any` field used to.
	broken := &jsonschema.Schema{Type: "object", Properties: map[string]*jsonschema.Schema{
		"value": {}, "list": {Type: "array", Items: &jsonschema.Schema{}}}}
	err := noBoolSubschemas("broken", map[string]*jsonschema.Schema{"output": broken})
	if err == nil || !strings.Contains(err.Error(), "/properties/value") || !strings.Contains(err.Error(), "/properties/list/items") {
		t.Fatalf("a boolean subschema was not reported: %v", err)
	}
	// An `any` field in a real Def is given an object schema.
	type anyOut struct {
		Value any   `json:"value"`
		List  []any `json:"list"`
	}
	d := &tool.Def[struct{}, anyOut]{Name: "any_test"}
	if err := objectSchemasOnly(d); err != nil {
		t.Fatal(err)
	}
}

// checkRequired: the schema says required when json has no omitempty; kong
// says required for an arg without optional or a required flag. They must agree.
func checkRequired(t *testing.T, typ reflect.Type, required []string) {
	t.Helper()
	req := map[string]bool{}
	for _, r := range required {
		req[r] = true
	}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for i := 0; i < typ.NumField(); i++ {
			sf := typ.Field(i)
			name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if sf.Anonymous && name == "" {
				walk(sf.Type)
				continue
			}
			if !sf.IsExported() || name == "-" {
				continue
			}
			_, isArg := sf.Tag.Lookup("arg")
			_, optional := sf.Tag.Lookup("optional")
			_, requiredFlag := sf.Tag.Lookup("required")
			cliRequired := (isArg && !optional) || requiredFlag
			schemaRequired := !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero")
			if cliRequired != schemaRequired || req[name] != schemaRequired {
				t.Errorf("field %s: CLI required=%v, schema required=%v (json %q)", sf.Name, cliRequired, req[name], sf.Tag.Get("json"))
			}
		}
	}
	walk(typ)
}

// TestGenerated fails when schemas/ or the README reference are stale; with
// -update it rewrites them. Under CI it never creates a missing file.
func TestGenerated(t *testing.T) {
	files, err := handlers.Generated(tools.All)
	if err != nil {
		t.Fatal(err)
	}
	root := ".."
	for path, want := range files {
		full := filepath.Join(root, path)
		got, err := os.ReadFile(full)
		if path == "README.md" {
			if err != nil {
				t.Fatal(err)
			}
			b, e := bytes.Index(got, []byte(handlers.ReadmeBegin)), bytes.Index(got, []byte(handlers.ReadmeEnd))
			if b < 0 || e < b {
				t.Fatalf("README.md lacks the generated reference markers %q … %q", handlers.ReadmeBegin, handlers.ReadmeEnd)
			}
			end := e + len(handlers.ReadmeEnd) + 1
			if end > len(got) {
				end = len(got)
			}
			updated := append(append(append([]byte{}, got[:b]...), want...), got[end:]...)
			want = updated
		}
		if bytes.Equal(got, want) {
			continue
		}
		if !*update {
			t.Errorf("%s is stale or missing: run `make generate`", path)
			continue
		}
		if err != nil && os.Getenv("CI") != "" {
			t.Errorf("%s is missing; not creating it under CI: run `make generate` and commit", path)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A schema file whose tool is gone is stale too.
	old, _ := filepath.Glob(filepath.Join(root, "schemas", "*.json"))
	for _, p := range old {
		if _, ok := files["schemas/"+filepath.Base(p)]; !ok {
			if *update {
				os.Remove(p)
			} else {
				t.Errorf("%s belongs to no tool: run `make generate`", p)
			}
		}
	}
}
