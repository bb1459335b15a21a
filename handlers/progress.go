package handlers

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/velos-pm/velos/core/supervisor"
)

// A long call (a reload, a stop with a long kill_timeout, a resurrect)
// reports its steps as notifications/progress when the caller gave a
// progress token; the reporter rides in the call's context.

type progressKey struct{}

// reporter sends one call's progress notifications.
type reporter struct {
	ctx   context.Context
	ss    *mcp.ServerSession
	token any

	mu sync.Mutex
	n  float64 // progress must increase with each notification
}

// withProgress gives ctx a reporter when req asked for progress.
func withProgress(ctx context.Context, req *mcp.CallToolRequest) context.Context {
	if req == nil || req.Params == nil || req.Session == nil {
		return ctx
	}
	tok := req.Params.GetProgressToken()
	if tok == nil {
		return ctx
	}
	return context.WithValue(ctx, progressKey{}, &reporter{ctx: ctx, ss: req.Session, token: tok})
}

// progress reports a step of the call in ctx, out of total steps (0:
// unknown); a call that asked for none ignores it. It never blocks the
// call for long: a client that stopped reading loses the notification.
func progress(ctx context.Context, total int, msg string) {
	r, _ := ctx.Value(progressKey{}).(*reporter)
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	nctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 2*time.Second)
	defer cancel()
	_ = r.ss.NotifyProgress(nctx, &mcp.ProgressNotificationParams{ProgressToken: r.token,
		Progress: r.n, Total: float64(total), Message: msg})
}

// reloadProgress is the supervisor's reload progress as notifications, or
// nil when the call asked for none.
func reloadProgress(ctx context.Context) supervisor.Progress {
	if ctx.Value(progressKey{}) == nil {
		return nil
	}
	return func(in supervisor.Info, step string) {
		progress(ctx, 0, in.LogName()+" (id "+strconv.Itoa(in.ID)+"): "+step)
	}
}
