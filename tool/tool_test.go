package tool

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

type sampleIn struct {
	Target string   `json:"target" arg:"" help:"Process name, ${enum} or id."`
	Stream string   `json:"stream,omitempty" enum:"out,err,both" default:"both" help:"Which stream."`
	Lines  int      `json:"lines,omitempty" default:"15" help:"Last lines."`
	Tags   []string `json:"tags,omitempty" enum:"a,b" help:"Tags to keep."`
	Local  string   `json:"-" help:"CLI only."`
}

type sampleOut struct {
	Echo string `json:"echo"`
}

var sample = &Def[sampleIn, sampleOut]{
	Name: "sample_echo", CLI: "echo", Title: "Echo", Summary: "Echo.", Effect: Mutating,
	Run: func(ctx context.Context, d *Deps, in sampleIn) (sampleOut, error) {
		return sampleOut{Echo: in.Target}, nil
	},
}

// The input schema carries what the kong tags say, so the CLI and MCP agree.
func TestInputSchemaFromTags(t *testing.T) {
	s, err := sample.InputSchema()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	got := string(b)
	for _, want := range []string{
		`"target":{"type":"string","description":"Process name, or id."}`,
		`"default":"both"`, `"enum":["out","err","both"]`,
		`"default":15`, `"items":{"type":"string","enum":["a","b"]}`,
		`"required":["target"]`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("schema lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "CLI only") {
		t.Errorf("a json:\"-\" field reached the schema: %s", got)
	}
}

func TestBadDefaultIsAnError(t *testing.T) {
	type in struct {
		N int `json:"n,omitempty" default:"many" help:"n."`
	}
	d := &Def[in, sampleOut]{Name: "bad_default", Effect: ReadOnly}
	if _, err := d.InputSchema(); err == nil || !strings.Contains(err.Error(), `default "many"`) {
		t.Fatalf("bad default: %v", err)
	}
}

func TestAnnotationsFollowEffect(t *testing.T) {
	for _, c := range []struct {
		e                     Effect
		readOnly, destructive bool
	}{{ReadOnly, true, false}, {Mutating, false, false}, {Destructive, false, true}} {
		d := &Def[sampleIn, sampleOut]{Effect: c.e}
		a := d.Annotations()
		if a.ReadOnlyHint != c.readOnly || (a.DestructiveHint != nil && *a.DestructiveHint != c.destructive) || *a.OpenWorldHint {
			t.Errorf("%s: %+v", c.e, a)
		}
	}
	if (Effect(0)).String() != "unset" {
		t.Error("the zero effect must read as unset")
	}
}

func TestExplicitKeepsZeros(t *testing.T) {
	type embedded struct {
		Port int `json:"port,omitempty" default:"9615" help:"p."`
	}
	type in struct {
		embedded
		Name  string   `json:"name,omitempty" help:"n."`
		Tags  []string `json:"tags,omitempty" help:"t."`
		Quiet bool     `json:"quiet,omitempty" help:"q."`
		Skip  string   `json:"-"`
	}
	got := Explicit(in{Name: "api"})
	want := map[string]any{"name": "api", "port": 0, "quiet": false}
	if len(got) != len(want) || got["name"] != "api" || got["port"] != 0 || got["quiet"] != false {
		t.Fatalf("Explicit = %#v, want %#v (no tags: a nil list stays absent)", got, want)
	}
}
