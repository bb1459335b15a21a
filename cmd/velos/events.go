package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/velos-pm/velos/core/events"
	"github.com/velos-pm/velos/tool"
)

// eventsURI is the daemon's event resource (resources.EventsURI, which the
// CLI does not link).
const eventsURI = "velos://events"

type eventsCmd struct {
	Name   string `arg:"" optional:"" help:"Only the events of this process."`
	Follow bool   `short:"f" help:"Keep printing events as they happen, until Ctrl-C."`
}

// Run prints the daemon's recent events (velos://events) and, with -f,
// follows them through the same subscription an MCP client makes: on each
// notifications/resources/updated it reads the resource again and prints
// what is new (by seq).
func (c eventsCmd) Run(g *tool.Globals, t *tool.Term, cl *client) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := cl.Open(ctx, tool.Info{Name: "events", Effect: tool.ReadOnly})
	if err != nil {
		return err
	}
	defer s.Close()
	sess, ok := s.(*session)
	if !ok {
		return fmt.Errorf("events: this client cannot read resources")
	}
	var updates <-chan struct{}
	if c.Follow {
		// Subscribed before the first read: nothing between is missed.
		if updates, err = sess.Subscribe(ctx, eventsURI); err != nil {
			return err
		}
	}
	var last int64
	show := func() error {
		text, err := sess.ReadResource(ctx, eventsURI)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(text, "\n") {
			if line == "" {
				continue
			}
			var e events.Event
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				return fmt.Errorf("events: %q: %w", line, err)
			}
			if e.Seq <= last {
				continue
			}
			last = e.Seq
			if c.Name != "" && e.Name != c.Name {
				continue
			}
			if g.JSON || g.AI {
				fmt.Fprintln(t.Out, line)
			} else {
				fmt.Fprintln(t.Out, e)
			}
		}
		return nil
	}
	if err := show(); err != nil || !c.Follow {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, open := <-updates:
			if !open {
				return nil // the daemon stopped
			}
			if err := show(); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}
