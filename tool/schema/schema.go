// Package schema derives the JSON Schemas MCP clients see from a tool's
// input and output structs: inferred by github.com/google/jsonschema-go
// (what the MCP SDK validates with), with descriptions, enums and defaults
// copied from the same tags kong reads, so the CLI and MCP agree, and with
// no boolean subschema anywhere (see objects.go). The daemon and the
// generator of schemas/ use it; the CLI does not link it.
package schema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/velos-pm/velos/tool"
)

// Input is the input schema of e: inferred from its input type, with
// descriptions, enums and defaults copied from the same tags kong reads, so
// the CLI and MCP agree. A list, map or pointer is typed without its "null":
// no caller should send null, and each one costs a model tokens in every
// tools/list.
func Input(e tool.Entry) (*jsonschema.Schema, error) {
	t := e.InType()
	s, err := jsonschema.ForType(t, nil)
	if err != nil {
		return nil, fmt.Errorf("%s input schema: %w", e.Info().Name, err)
	}
	if err := annotate(s, t); err != nil {
		return nil, fmt.Errorf("%s input schema: %w", e.Info().Name, err)
	}
	objectSchemas(s)
	notNull(s)
	return s, nil
}

// Output is what tools/list says of e's result, cut to what pays for its
// tokens: an object, and the keys every result has (required). Every key of
// every tool's result, with types, nesting and descriptions, would cost each
// connected model about 25 tokens a tool on every turn (with the types of
// the required keys alone, 20 a tool); the whole schema is [Result], in
// schemas/<tool>.json, which the interop tests hold every result to.
func Output(e tool.Entry) (*jsonschema.Schema, error) {
	full, err := Result(e)
	if err != nil {
		return nil, err
	}
	return &jsonschema.Schema{Type: "object", Required: full.Required}, nil
}

// Result is the whole schema of e's output: every level of the structured
// content and of --json.
func Result(e tool.Entry) (*jsonschema.Schema, error) {
	s, err := jsonschema.ForType(e.OutType(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s output schema: %w", e.Info().Name, err)
	}
	objectSchemas(s)
	return s, nil
}

// annotate copies brief (or help), enum and default tags into the schema's
// properties. The empty string that kong needs in an enum for "not given"
// (enum:",fork,cluster" default:"") is left out of the schema: there, not
// given is leaving the key out.
func annotate(s *jsonschema.Schema, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if sf.Anonymous && name == "" {
			if err := annotate(s, sf.Type); err != nil {
				return err
			}
			continue
		}
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		p := s.Properties[name]
		if p == nil {
			continue
		}
		if h := tool.Brief(sf); h != "" {
			p.Description = h
		}
		target := p
		if p.Items != nil && (sf.Type.Kind() == reflect.Slice) {
			target = p.Items
		}
		if e, ok := sf.Tag.Lookup("enum"); ok {
			for _, v := range strings.Split(e, ",") {
				if v = strings.TrimSpace(v); v != "" {
					target.Enum = append(target.Enum, v)
				}
			}
		}
		if dv, ok := sf.Tag.Lookup("default"); ok && dv != "" && sf.Type.Kind() != reflect.Slice {
			var raw []byte
			var err error
			switch sf.Type.Kind() {
			case reflect.String:
				raw, err = json.Marshal(dv)
			default:
				raw, err = []byte(dv), json.Unmarshal([]byte(dv), new(any))
			}
			if err != nil {
				return fmt.Errorf("field %s: default %q is not valid JSON for its type", sf.Name, dv)
			}
			p.Default = raw
		}
		if sf.Type.Kind() == reflect.Struct {
			if err := annotate(p, sf.Type); err != nil {
				return err
			}
		}
	}
	return nil
}
