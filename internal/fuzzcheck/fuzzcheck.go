// Package fuzzcheck holds what the fuzz targets of several packages share.
package fuzzcheck

import (
	"fmt"
	"runtime/debug"
	"time"
)

// PerInput bounds one fuzz input: call it first in the fuzz function and
// defer the stop it returns. The fuzzing engine has no per-input timeout,
// so an input that hangs would only stall the run until -fuzztime and then
// pass; past d this crashes the worker with every goroutine's stack, and
// the engine saves the input as a failure.
func PerInput(d time.Duration) (stop func()) {
	t := time.AfterFunc(d, func() {
		debug.SetTraceback("all")
		panic(fmt.Sprintf("one fuzz input ran longer than %s", d))
	})
	return func() { t.Stop() }
}
