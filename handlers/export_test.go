package handlers

import (
	"context"
	"errors"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ErrDecoded ends every call to a tool added by [RegisterDecoding], once its
// input is decoded: the handler is not run.
var ErrDecoded = errors.New("input decoded; the tool was not run")

type decoding interface {
	registerDecoding(srv *mcp.Server, got func(in any)) error
}

func (h *handler[In, Out]) registerDecoding(srv *mcp.Server, got func(in any)) error {
	rec := &handler[In, Out]{def: h.def, run: func(_ context.Context, _ *Deps, in In) (Out, error) {
		got(in)
		var zero Out
		return zero, ErrDecoded
	}}
	return rec.Register(srv, &Deps{})
}

// RegisterDecoding adds h to srv exactly as Register does, schemas and
// argument checks included, but each call hands the decoded input to got
// instead of running the tool.
func RegisterDecoding(h Handler, srv *mcp.Server, got func(in any)) error {
	return h.(decoding).registerDecoding(srv, got)
}
