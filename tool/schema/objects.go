package schema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	"github.com/google/jsonschema-go/jsonschema"
)

// anyValue is the description an "any JSON value" subschema carries. The
// jsonschema package writes an empty schema as the boolean true, which JSON
// Schema allows but the official TypeScript MCP SDK (what Claude Code, Cursor
// and the Inspector run) rejects in outputSchema.properties, dropping every
// tool of the server. An object with a description means the same and is
// accepted everywhere.
const anyValue = "any JSON value"

var schemaType = reflect.TypeFor[jsonschema.Schema]()

// objectSchemas rewrites s so that no subschema marshals as a boolean: an
// empty schema (true, "any value") gets a description, and the only false
// the inference writes, additionalProperties:false on structs, is dropped —
// the daemon refuses unknown arguments itself (handlers.Register), and an
// output schema is only ever checked against what this server sends.
func objectSchemas(s *jsonschema.Schema) {
	eachSchema(s, func(s *jsonschema.Schema) {
		if reflect.ValueOf(*s).IsZero() {
			s.Description = anyValue
			return
		}
		if isFalse(s.AdditionalProperties) {
			s.AdditionalProperties = nil
		}
	})
}

// notNull types every ["null", T] subschema as T alone.
func notNull(s *jsonschema.Schema) {
	eachSchema(s, func(s *jsonschema.Schema) {
		if len(s.Types) == 2 && s.Types[0] == "null" {
			s.Type, s.Types = s.Types[1], nil
		}
	})
}

// eachSchema calls f on s and then on every schema inside it. It walks every
// field that holds schemas (properties, items, $defs, allOf …) by
// reflection, so a keyword added to the jsonschema package is covered too.
func eachSchema(s *jsonschema.Schema, f func(*jsonschema.Schema)) {
	if s == nil {
		return
	}
	f(s)
	v := reflect.ValueOf(s).Elem()
	for i := 0; i < v.NumField(); i++ {
		fv := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch {
		case fv.Type() == reflect.PointerTo(schemaType):
			if !fv.IsNil() {
				eachSchema(fv.Interface().(*jsonschema.Schema), f)
			}
		case fv.Kind() == reflect.Slice && fv.Type().Elem() == reflect.PointerTo(schemaType):
			for j := 0; j < fv.Len(); j++ {
				eachSchema(fv.Index(j).Interface().(*jsonschema.Schema), f)
			}
		case fv.Kind() == reflect.Map && fv.Type().Elem() == reflect.PointerTo(schemaType):
			for _, k := range fv.MapKeys() {
				eachSchema(fv.MapIndex(k).Interface().(*jsonschema.Schema), f)
			}
		}
	}
}

// isFalse reports whether s is the schema false, which the jsonschema
// package spells {"not": {}}.
func isFalse(s *jsonschema.Schema) bool {
	return s != nil && s.Not != nil && reflect.ValueOf(*s.Not).IsZero() &&
		reflect.DeepEqual(*s, jsonschema.Schema{Not: s.Not})
}

// Keywords whose value is one schema, a list of schemas, or a map of them
// (JSON Schema 2020-12 and the draft-07 names still seen in the wild).
var (
	oneSchema = map[string]bool{"items": true, "additionalProperties": true, "not": true,
		"if": true, "then": true, "else": true, "contains": true, "propertyNames": true,
		"unevaluatedItems": true, "unevaluatedProperties": true, "additionalItems": true,
		"contentSchema": true}
	listSchemas = map[string]bool{"allOf": true, "anyOf": true, "oneOf": true, "prefixItems": true}
	mapSchemas  = map[string]bool{"properties": true, "patternProperties": true, "$defs": true,
		"definitions": true, "dependentSchemas": true}
)

// BoolSubschemas returns the JSON pointer of every subschema of the
// marshalled schema raw that is a boolean (true or false) instead of an
// object. It reads the JSON, not the Go value, so it judges what clients
// receive. The root itself may not be boolean either.
func BoolSubschemas(raw []byte) ([]string, error) {
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	var bad []string
	var walk func(v any, at string)
	walk = func(v any, at string) {
		obj, ok := v.(map[string]any)
		if !ok {
			if _, isBool := v.(bool); isBool {
				bad = append(bad, at)
			}
			return
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub := obj[k]
			switch {
			case oneSchema[k]:
				walk(sub, at+"/"+k)
			case listSchemas[k]:
				list, _ := sub.([]any)
				for i, e := range list {
					walk(e, fmt.Sprintf("%s/%s/%d", at, k, i))
				}
			case mapSchemas[k]:
				m, _ := sub.(map[string]any)
				names := make([]string, 0, len(m))
				for n := range m {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					walk(m[n], at+"/"+k+"/"+n)
				}
			}
		}
	}
	walk(doc, "")
	return bad, nil
}

// schemaKeys are the MCP fields whose value is a JSON Schema.
var schemaKeys = map[string]bool{"inputSchema": true, "outputSchema": true, "requestedSchema": true}

// BoolSubschemasIn is [BoolSubschemas] over every schema a raw MCP message
// carries (a tools/list result: each tool's inputSchema and outputSchema),
// each pointer prefixed with where the schema sits.
func BoolSubschemasIn(raw []byte) ([]string, error) {
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	var bad []string
	var walk func(v any, at string) error
	walk = func(v any, at string) error {
		switch v := v.(type) {
		case []any:
			for i, e := range v {
				if err := walk(e, fmt.Sprintf("%s/%d", at, i)); err != nil {
					return err
				}
			}
		case map[string]any:
			for k, e := range v {
				if !schemaKeys[k] {
					if err := walk(e, at+"/"+k); err != nil {
						return err
					}
					continue
				}
				b, _ := json.Marshal(e)
				found, err := BoolSubschemas(b)
				if err != nil {
					return err
				}
				for _, f := range found {
					bad = append(bad, at+"/"+k+f)
				}
			}
		}
		return nil
	}
	if err := walk(doc, ""); err != nil {
		return nil, err
	}
	sort.Strings(bad)
	return bad, nil
}
