package tool

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/velos-pm/velos/core/insight"
)

// Secrets in output meant for a model (MCP text content and structured
// content, the CLI's --ai) are masked with [insight.Redact] here, once for
// every tool, so no tool can forget it. Files on disk are never changed.
//
// Not redacted: what a person or a script asked for — the CLI's human
// output and --json. The CLI says so by sending [MetaVerbatim] in the call's
// _meta; an MCP client may do the same on purpose. A tool whose output shows
// only processes that opted out (VELOS_REDACT=0 in their env) calls
// [KeepSecrets].

// MetaVerbatim is the _meta key of a tools/call that asks for output as is,
// without redaction. The CLI sets it for human and --json output.
const MetaVerbatim = "velos/verbatim"

// RedactEnv is the environment variable that, set to "0" in a process's env,
// opts that process's output out of redaction.
const RedactEnv = "VELOS_REDACT"

type keepKey struct{}

type verbatimKey struct{}

// withKeep returns a context in which [KeepSecrets] records its answer in k.
func withKeep(ctx context.Context, k *bool) context.Context {
	return context.WithValue(ctx, keepKey{}, k)
}

// Answer runs one call of a tool's code the way every caller must — the
// daemon for MCP, the CLI for a local answer: run may call [KeepSecrets],
// and its output is [Redacted] unless verbatim is asked for or run kept it.
func Answer[Out any](ctx context.Context, verbatim bool, run func(context.Context) (Out, error)) (Out, error) {
	var keep bool
	o, err := run(withKeep(ctx, &keep))
	if err != nil || verbatim || keep {
		return o, err
	}
	return Redacted(o)
}

// KeepSecrets tells the caller of the current tool call not to redact its
// output, because every process it shows opted out of redaction. It does
// nothing outside a tool call.
func KeepSecrets(ctx context.Context) {
	if k, ok := ctx.Value(keepKey{}).(*bool); ok {
		*k = true
	}
}

// OptedOut reports whether a process's env opts it out of redaction.
func OptedOut(env map[string]string) bool { return env[RedactEnv] == "0" }

// WithVerbatim marks ctx: the call made with it asks for unredacted output
// (the CLI's human and --json modes). A [Caller] passes it on as [MetaVerbatim].
func WithVerbatim(ctx context.Context, verbatim bool) context.Context {
	return context.WithValue(ctx, verbatimKey{}, verbatim)
}

// Verbatim reports whether ctx asks for unredacted output (see [WithVerbatim]).
func Verbatim(ctx context.Context) bool {
	v, _ := ctx.Value(verbatimKey{}).(bool)
	return v
}

// Redacted returns a deep copy of o with [insight.Redact] applied to every
// string value (not to map keys). The copy goes through JSON, the form both
// renderings and structured content are made from, so nothing the handler
// still holds (a map shared with the supervisor) is changed.
func Redacted[Out any](o Out) (Out, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return o, fmt.Errorf("redact: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return o, fmt.Errorf("redact: %w", err)
	}
	changed := false
	x = redactValue(x, &changed)
	if !changed {
		return o, nil
	}
	if b, err = json.Marshal(x); err != nil {
		return o, fmt.Errorf("redact: %w", err)
	}
	var out Out
	if err := json.Unmarshal(b, &out); err != nil {
		return o, fmt.Errorf("redact: %w", err)
	}
	return out, nil
}

func redactValue(x any, changed *bool) any {
	switch v := x.(type) {
	case string:
		r := insight.Redact(v)
		if r != v {
			*changed = true
		}
		return r
	case map[string]any:
		for k, e := range v {
			v[k] = redactValue(e, changed)
		}
	case []any:
		for i, e := range v {
			v[i] = redactValue(e, changed)
		}
	}
	return x
}
