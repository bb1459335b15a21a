package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/handlers"
	"github.com/velos-pm/velos/internal/fuzzcheck"
	"github.com/velos-pm/velos/tool/schema"
)

// FuzzToolArguments sends arbitrary JSON as the arguments of every tool in
// the registry through a real MCP session, decoded by the same code as in
// the daemon (schema defaults and validation, the SDK's decoding, the
// unknown-argument check) with the handlers replaced by a recorder. Nothing
// may panic; an input that is accepted must use only the exact argument
// names of the tool (a differently-cased name is an argument silently
// ignored), and its decoded value must be accepted again, unchanged but
// for an empty field the schema fills with its default.
func FuzzToolArguments(f *testing.F) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "fuzz"}, nil)
	var mu sync.Mutex
	var got any
	names := make([]map[string]bool, len(handlers.All))
	for i, h := range handlers.All {
		e := h.Tool()
		// Render the schemas too: a type the inference cannot express would
		// panic or fail here.
		for _, s := range []func() (any, error){
			func() (any, error) { return schema.Input(e) },
			func() (any, error) { return schema.Output(e) },
		} {
			v, err := s()
			if err != nil {
				f.Fatalf("%s: %v", e.Info().Name, err)
			}
			if _, err := json.Marshal(v); err != nil {
				f.Fatalf("%s schema: %v", e.Info().Name, err)
			}
		}
		if err := handlers.RegisterDecoding(h, srv, func(in any) {
			mu.Lock()
			got = in
			mu.Unlock()
		}); err != nil {
			f.Fatal(err)
		}
		names[i] = jsonNames(e.InType())
	}
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "fuzz"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer cs.Close()

	// call returns the decoded input, or nil when the call was refused.
	call := func(t *testing.T, name string, args []byte) any {
		mu.Lock()
		got = nil
		mu.Unlock()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: json.RawMessage(args)})
		if err != nil {
			t.Fatalf("%s %s: protocol error %v", name, args, err)
		}
		mu.Lock()
		in := got
		mu.Unlock()
		if in != nil && (!res.IsError || !strings.Contains(text(res), handlers.ErrDecoded.Error())) {
			t.Fatalf("%s %s: decoded, then %s", name, args, text(res))
		}
		if in == nil && !res.IsError {
			t.Fatalf("%s %s: neither decoded nor refused", name, args)
		}
		return in
	}

	for i := range handlers.All {
		f.Add(uint8(i), []byte("{}"))
	}
	f.Fuzz(func(t *testing.T, which uint8, args []byte) {
		defer fuzzcheck.PerInput(10 * time.Second)()
		if !json.Valid(args) {
			return // the client cannot send it; the transport is not what is tested here
		}
		i := int(which) % len(handlers.All)
		name := handlers.All[i].Tool().Info().Name
		in := call(t, name, args)
		if in == nil {
			return
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(args, &obj); err == nil {
			for k := range obj {
				if !names[i][k] {
					t.Fatalf("%s accepted %s, whose argument %q is not one of its names %v", name, args, k, keys(names[i]))
				}
			}
		}
		again, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("%s: decoded input does not marshal: %v", name, err)
		}
		in2 := call(t, name, again)
		if in2 == nil {
			t.Fatalf("%s accepted %s but not its own decoding %s", name, args, again)
		}
		// Compared as JSON: an empty list decoded from [] and a nil one from
		// a left-out argument are the same argument.
		if again2, _ := json.Marshal(withoutDefaults(in, in2)); !bytes.Equal(again, again2) {
			t.Fatalf("%s: %s decoded as %+v, its re-encoding %s as %+v", name, args, in, again, in2)
		}
	})
}

// withoutDefaults returns b with every field that a has empty and that has
// a default set back to empty: a value sent as "" stays "", and the same
// value left out (omitempty) takes the schema's default, which handlers
// read as the same thing.
func withoutDefaults(a, b any) any {
	av, bv := reflect.ValueOf(a), reflect.New(reflect.TypeOf(b)).Elem()
	bv.Set(reflect.ValueOf(b))
	clearDefaults(av, bv)
	return bv.Interface()
}

func clearDefaults(a, b reflect.Value) {
	if a.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < a.NumField(); i++ {
		sf := a.Type().Field(i)
		if !sf.IsExported() {
			continue
		}
		if _, ok := sf.Tag.Lookup("default"); ok && a.Field(i).IsZero() {
			b.Field(i).Set(reflect.Zero(sf.Type))
		}
		clearDefaults(a.Field(i), b.Field(i))
	}
}

// jsonNames are the argument names of an input struct as encoding/json
// spells them, embedded structs included.
func jsonNames(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if sf.Anonymous && name == "" {
			for k := range jsonNames(sf.Type) {
				out[k] = true
			}
			continue
		}
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out[name] = true
	}
	return out
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func text(res *mcp.CallToolResult) string {
	var b bytes.Buffer
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}
