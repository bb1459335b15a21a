package tool

import "testing"

func TestExplicitKeepsZeros(t *testing.T) {
	type embedded struct {
		Port int `json:"port,omitempty" default:"9615" help:"p."`
	}
	type in struct {
		embedded
		Name   string   `json:"name,omitempty" help:"n."`
		Tags   []string `json:"tags,omitempty" help:"t."`
		Quiet  bool     `json:"quiet,omitempty" help:"q."`
		Loud   bool     `json:"loud,omitempty" default:"true" help:"l."`
		Stream string   `json:"stream,omitempty" enum:",out,err" default:"" help:"s."`
		Skip   string   `json:"-"`
	}
	// A zero with a schema default in its place is sent; any other zero
	// means the same left out (and "" is no value of the stream enum).
	got := Explicit(in{Name: "api"})
	want := map[string]any{"name": "api", "port": 0, "loud": false}
	if len(got) != len(want) || got["name"] != "api" || got["port"] != 0 || got["loud"] != false {
		t.Fatalf("Explicit = %#v, want %#v (no tags: a nil list stays absent)", got, want)
	}
}

type listsOut struct {
	Name  string            `json:"name"`
	Rows  []string          `json:"rows"`
	Extra []string          `json:"extra,omitempty"`
	Env   map[string]string `json:"env"`
	Raw   []byte            `json:"raw"`
}

// The always-written lists are [] where nil, the omitempty ones left alone.
func TestEmptyLists(t *testing.T) {
	o := EmptyLists(listsOut{Name: "x"})
	if o.Rows == nil || o.Env == nil || o.Extra != nil || o.Raw != nil {
		t.Errorf("EmptyLists: %+v", o)
	}
}
