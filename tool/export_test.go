package tool

import (
	"context"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ErrDecoded ends every call to a tool added by [RegisterDecoding], once its
// input is decoded: the handler is not run and no output is validated.
var ErrDecoded = errors.New("input decoded; the tool was not run")

type decoding interface {
	registerDecoding(srv *mcp.Server, got func(in any)) error
}

func (t *Def[In, Out]) registerDecoding(srv *mcp.Server, got func(in any)) error {
	return t.register(srv, &Deps{}, func(_ context.Context, _ *Deps, in In) (Out, error) {
		got(in)
		var zero Out
		return zero, ErrDecoded
	})
}

// RegisterDecoding adds e to srv exactly as [Def.Register] does, schemas and
// argument checks included, but each call hands the decoded input to got
// instead of running the tool.
func RegisterDecoding(e Entry, srv *mcp.Server, got func(in any)) error {
	d, ok := e.(decoding)
	if !ok {
		return fmt.Errorf("%s: not a tool.Def", e.Info().Name)
	}
	return d.registerDecoding(srv, got)
}
