//go:build !unix

package main

import (
	"context"
	"errors"
)

const canReexec = false

func onHangup(context.Context, *upgrader) {}

var errNoExec = errors.New("update: re-executing the daemon in place needs unix")

func (u *upgrader) reexec([]string) error { return errNoExec }

func fallBack(string, string, []string, error) error { return errNoExec }
