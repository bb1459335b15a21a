package tool

import (
	"encoding/json"
	"reflect"
	"strings"
)

var marshalerType = reflect.TypeFor[json.Marshaler]()

// fillable: the field is always written, and a nil value of it marshals
// as null where an empty one marshals as [] or {}. (An omitempty field is
// left alone: empty or nil, it is not written, and code may tell the two
// apart.)
func fillable(sf reflect.StructField) bool {
	_, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
	if strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") {
		return false
	}
	t := sf.Type
	switch {
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType):
		return false
	case t.Kind() == reflect.Slice:
		return t.Elem().Kind() != reflect.Uint8 // []byte is a base64 string
	}
	return t.Kind() == reflect.Map
}

// EmptyLists returns o with every nil top-level list or map made empty, so
// that a result says [] where it has none, as scripts reading --json expect
// (jq's .processes[] fails on null).
func EmptyLists[T any](o T) T {
	v := reflect.ValueOf(&o).Elem()
	fillLists(v)
	return o
}

func fillLists(v reflect.Value) {
	if v.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < v.NumField(); i++ {
		f, sf := v.Field(i), v.Type().Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		switch {
		case !sf.IsExported() || name == "-":
		case sf.Anonymous && name == "" && f.Kind() == reflect.Struct:
			fillLists(f)
		case !fillable(sf) || !f.IsNil():
		case f.Kind() == reflect.Slice:
			f.Set(reflect.MakeSlice(sf.Type, 0, 0))
		case f.Kind() == reflect.Map:
			f.Set(reflect.MakeMap(sf.Type))
		}
	}
}
