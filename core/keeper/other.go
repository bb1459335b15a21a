//go:build !unix

package keeper

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
)

// errUnsupported: descriptors pass between processes only on unix.
var errUnsupported = errors.New("keeper: not supported on this system")

// Keeper holds nothing where descriptors cannot be passed.
type Keeper struct{}

// New returns a Keeper that cannot serve.
func New(*slog.Logger) *Keeper { return &Keeper{} }

// Serve fails: see errUnsupported.
func (k *Keeper) Serve(context.Context, *net.UnixListener) error { return errUnsupported }

// Client is never connected here.
type Client struct{}

// Dial fails: see errUnsupported.
func Dial(string) (*Client, error) { return nil, errUnsupported }

func (cl *Client) Close() error                            { return nil }
func (cl *Client) Ping() (int, error)                      { return 0, errUnsupported }
func (cl *Client) Put(map[string]*os.File) error           { return errUnsupported }
func (cl *Client) Get(string) (map[string]*os.File, error) { return nil, errUnsupported }
func (cl *Client) List(string) ([]string, error)           { return nil, errUnsupported }
func (cl *Client) Delete(string) error                     { return errUnsupported }
func (cl *Client) Quit() error                             { return errUnsupported }
