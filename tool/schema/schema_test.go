package schema

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/velos-pm/velos/tool"
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

var sample = &tool.Def[sampleIn, sampleOut]{
	Name: "sample_echo", CLI: "echo", Title: "Echo", Summary: "Echo.", Effect: tool.Mutating}

// The input schema carries what the kong tags say, so the CLI and MCP agree.
func TestInputSchemaFromTags(t *testing.T) {
	s, err := Input(sample)
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
	d := &tool.Def[in, sampleOut]{Name: "bad_default", Effect: tool.ReadOnly}
	if _, err := Input(d); err == nil || !strings.Contains(err.Error(), `default "many"`) {
		t.Fatalf("bad default: %v", err)
	}
}

// What a model reads of an input: the brief tag (none for "-"), else the
// help; no "" in an enum kong needs it in, and no null type.
func TestInputSchemaForModels(t *testing.T) {
	type in struct {
		Timeout string   `json:"timeout,omitempty" brief:"before SIGKILL (default 5s)" help:"Grace after the stop signal before SIGKILL (default 5s)."`
		User    string   `json:"user,omitempty" brief:"-" help:"Run as this user."`
		Mode    string   `json:"mode,omitempty" enum:",fork,cluster" default:"" help:"fork or cluster."`
		Paths   []string `json:"paths,omitempty" help:"Paths."`
		Env     *struct {
			A string `json:"a"`
		} `json:"env,omitempty" help:"Env."`
	}
	d := &tool.Def[in, sampleOut]{Name: "brief_test", Effect: tool.ReadOnly}
	s, err := Input(d)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	got := string(b)
	for _, want := range []string{
		`"timeout":{"type":"string","description":"before SIGKILL (default 5s)"}`,
		`"user":{"type":"string"}`,
		`"mode":{"type":"string","description":"fork or cluster.","enum":["fork","cluster"]}`,
		`"paths":{"type":"array","items":{"type":"string"},"description":"Paths."}`,
		`"env":{"type":"object"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("schema lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "null") || strings.Contains(got, "Grace") {
		t.Errorf("a null type or the help instead of the brief reached the schema: %s", got)
	}
}

type nestedOut struct {
	Name  string            `json:"name"`
	Rows  []sampleOut       `json:"rows"`
	Extra []sampleOut       `json:"extra,omitempty"`
	Env   map[string]string `json:"env"`
	Inner *sampleOut        `json:"inner,omitempty"`
	Must  *sampleOut        `json:"must"`
	Any   any               `json:"any"`
}

// tools/list says the output is an object with the keys every result has;
// schemas/ has the rest.
func TestOutputSchemaObject(t *testing.T) {
	d := &tool.Def[sampleIn, nestedOut]{Name: "out_test", Effect: tool.ReadOnly}
	out, err := Output(d)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(out); string(b) != `{"type":"object","required":["name","rows","env","must","any"]}` {
		t.Errorf("output schema %s", b)
	}
	full, err := Result(d)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(full); !strings.Contains(string(b), `"echo"`) || !strings.Contains(string(b), `"required"`) {
		t.Errorf("the result schema lost the nested levels: %s", b)
	}
}
