package tool

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
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
	d := &Def[in, sampleOut]{Name: "brief_test", Effect: ReadOnly}
	s, err := d.InputSchema()
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
	d := &Def[sampleIn, nestedOut]{Name: "out_test", Effect: ReadOnly}
	out, err := d.OutputSchema()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(out); string(b) != `{"type":"object","required":["name","rows","env","must","any"]}` {
		t.Errorf("output schema %s", b)
	}
	full, err := d.ResultSchema()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(full); !strings.Contains(string(b), `"echo"`) || !strings.Contains(string(b), `"required"`) {
		t.Errorf("the result schema lost the nested levels: %s", b)
	}
	// The always-written lists are [] where nil, the omitempty ones left alone.
	o := emptyLists(nestedOut{Name: "x"})
	if o.Rows == nil || o.Env == nil || o.Extra != nil {
		t.Errorf("emptyLists: %+v", o)
	}
}

// The title is for people: tools/list leaves it out, annotations too.
func TestNoTitleInToolsList(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "t"}, nil)
	if err := sample.Register(srv, &Deps{}); err != nil {
		t.Fatal(err)
	}
	st, ct := mcp.NewInMemoryTransports()
	if _, err := srv.Connect(context.Background(), st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	if strings.Contains(string(b), `"title"`) || !strings.Contains(string(b), `"description":"Echo."`) {
		t.Errorf("tools/list: %s", b)
	}
}

// An argument name in another case is refused: the SDK would not decode it
// into the field, so accepting it would ignore the argument silently.
func TestArgumentNamesAreCaseSensitive(t *testing.T) {
	for raw, want := range map[string]string{
		`{"target":"api","lines":3}`: "",
		`{"target":"api","Lines":3}`: `unknown argument "Lines"`,
		`{"Target":"api"}`:           `unknown argument "Target"`,
		`{"target":"api","tagz":[]}`: `unknown argument "tagz"`,
	} {
		err := knownArguments[sampleIn](json.RawMessage(raw))
		if (err == nil) != (want == "") || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", raw, err, want)
		}
	}
}

// A handler that panics fails its call; the server (the daemon, with every
// process it supervises) goes on answering.
func TestPanicFailsTheCallOnly(t *testing.T) {
	boom := &Def[sampleIn, sampleOut]{Name: "sample_boom", CLI: "boom", Summary: "Boom.", Effect: ReadOnly,
		Run: func(context.Context, *Deps, sampleIn) (sampleOut, error) { panic("boom") }}
	srv := mcp.NewServer(&mcp.Implementation{Name: "t"}, nil)
	for _, d := range []*Def[sampleIn, sampleOut]{boom, sample} {
		if err := d.Register(srv, &Deps{Log: slog.New(slog.DiscardHandler)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	if _, err := srv.Connect(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "sample_boom", Arguments: map[string]any{"target": "x"}})
	if err != nil || !res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "internal error") {
		t.Fatalf("panicking tool: %v %+v", err, res)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "sample_echo", Arguments: map[string]any{"target": "x"}})
	if err != nil || res.IsError {
		t.Fatalf("after a panic: %v %+v", err, res)
	}
}
