package tool

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/velos-pm/velos/render"
)

// A tool whose CLI command prints more than one answer — pages of a long
// result, or new log lines as they come (velos logs -f) — sets [Def.Stream].
// The CLI then keeps one MCP session open for the whole command, lets Stream
// call the tool on it as often as it needs and subscribe to resources on it,
// and renders every output Stream emits as soon as it is emitted. Following
// is thus built from what any MCP client has: tool calls and
// resources/updated notifications, not a second private protocol.

// Session is one open MCP session with the daemon: tool calls and resource
// subscriptions on the same connection.
type Session interface {
	Caller
	// Subscribe subscribes to the resource at uri and returns once the
	// daemon has acknowledged it: an update after that is not missed. The
	// channel receives a signal after each resources/updated notification
	// for it (signals that arrive while one is pending merge) and is closed
	// when the session ends.
	Subscribe(ctx context.Context, uri string) (<-chan struct{}, error)
	Close() error
}

// Opener is a [Caller] that can also keep a session open, for [Def.Stream].
type Opener interface {
	Open(ctx context.Context, t Info) (Session, error)
}

// Stream is what [Def.Stream] gets: typed calls of its own tool and
// subscriptions on one session, and how the output will be shown.
type Stream[In, Out any] struct {
	// Call calls the tool once.
	Call func(ctx context.Context, in In) (Out, error)
	// Subscribe is [Session.Subscribe].
	Subscribe func(ctx context.Context, uri string) (<-chan struct{}, error)
	// Mode is the output format the user asked for.
	Mode render.Mode
	// TTY: stdout is a terminal (a person watching, not a pipe or a script).
	TTY bool
}

// runStream runs c.def.Stream on one session until it returns or the user
// interrupts it (Ctrl-C or SIGTERM end the command successfully).
func (c *command[In, Out]) runStream(ctx context.Context, g *Globals, term *Term, in In) error {
	op, ok := c.c.(Opener)
	if !ok {
		return fmt.Errorf("%s: this client cannot keep a session open", c.def.Name)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := op.Open(ctx, c.def.Info())
	if err != nil {
		return err
	}
	defer s.Close()
	st := Stream[In, Out]{
		Call: func(ctx context.Context, in In) (Out, error) {
			var out Out
			raw, err := s.Call(ctx, c.def.Info(), Explicit(in))
			if err != nil {
				return out, err
			}
			if err := json.Unmarshal(raw, &out); err != nil {
				return out, fmt.Errorf("%s: decode result: %w", c.def.Name, err)
			}
			return out, nil
		},
		Subscribe: s.Subscribe,
		Mode:      g.Mode(),
		TTY:       term.Render.TTY,
	}
	err = c.def.Stream(ctx, in, st, func(out Out) error {
		return render.Write(term.Out, g.Mode(), out, term.Render)
	})
	if ctx.Err() != nil {
		return nil // interrupted: the normal end of following
	}
	return err
}
