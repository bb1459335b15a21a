// Package agent holds what limits an AI agent's connection to the daemon:
// the tools it may list and call ([Limits], sent by `velos mcp-server` as
// the first line of its connection, see [WriteHello]), and the programs it
// may start ([Config], the [agent] table of $VELOS_HOME/config.toml). The
// CLI's own connections send no hello and are not limited: the socket is
// the user's (0600), and the limits protect the user from an agent's
// mistakes, not from the user.
package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Limits say which tools an agent connection sees and may call. The zero
// value allows every tool.
type Limits struct {
	// ReadOnly: only tools that change nothing.
	ReadOnly bool `json:"read_only,omitempty"`
	// Allow, when not empty, names the only tools allowed.
	Allow []string `json:"allow_tools,omitempty"`
	// Deny names tools refused even when allowed otherwise.
	Deny []string `json:"deny_tools,omitempty"`
}

// Key identifies limits that allow the same tools (for caching the server
// made for them).
func (l Limits) Key() string {
	a, d := slices.Clone(l.Allow), slices.Clone(l.Deny)
	slices.Sort(a)
	slices.Sort(d)
	return fmt.Sprintf("ro=%t allow=%s deny=%s", l.ReadOnly, strings.Join(a, ","), strings.Join(d, ","))
}

// Refusal says why the limits refuse the tool name whose effect is
// read-only or not, or "" when they allow it. The words name the flag that
// set the limit, so an agent (or its user) knows what to change.
func (l Limits) Refusal(name string, readOnly bool) string {
	switch {
	case l.ReadOnly && !readOnly:
		return "this connection is read-only (--read-only or a read-only token) and " + name + " changes state"
	case len(l.Allow) > 0 && !slices.Contains(l.Allow, name):
		return name + " is not in this connection's --allow-tools (" + strings.Join(l.Allow, ",") + ")"
	case slices.Contains(l.Deny, name):
		return name + " is in this connection's --deny-tools"
	}
	return ""
}

// Check reports names in the limits that are not tools (a typo would
// otherwise allow nothing or deny nothing, silently).
func (l Limits) Check(known []string) error {
	var errs []error
	for _, list := range []struct {
		flag  string
		names []string
	}{{"--allow-tools", l.Allow}, {"--deny-tools", l.Deny}} {
		for _, n := range list.names {
			if !slices.Contains(known, n) {
				errs = append(errs, fmt.Errorf("%s: no tool is called %q (tools: %s)", list.flag, n, strings.Join(known, ", ")))
			}
		}
	}
	return errors.Join(errs...)
}

// helloMethod is the method of the JSON-RPC notification that opens an
// agent's connection. Being a JSON-RPC notification, it is a valid first
// message on the wire even to a daemon that does not know it.
const helloMethod = "velos/agent"

type hello struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  Limits `json:"params"`
}

// WriteHello opens an agent connection: it says the connection is an
// agent's, with limits l. It must be the first line written.
func WriteHello(w io.Writer, l Limits) error {
	b, err := json.Marshal(hello{JSONRPC: "2.0", Method: helloMethod, Params: l})
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadHello reads the first line of a connection. When it is an agent's
// hello, it returns its limits (never nil) and a reader of the rest; else
// nil limits and a reader that still begins with that first line.
func ReadHello(r io.Reader) (*Limits, io.Reader, error) {
	br := bufio.NewReader(r)
	line, err := br.ReadBytes('\n')
	if err != nil && (len(line) == 0 || !errors.Is(err, io.EOF)) {
		return nil, nil, err
	}
	rest := io.MultiReader(bytes.NewReader(line), br)
	if !bytes.Contains(line, []byte(helloMethod)) {
		return nil, rest, nil
	}
	var h hello
	if json.Unmarshal(line, &h) != nil || h.Method != helloMethod {
		return nil, rest, nil
	}
	return &h.Params, br, nil
}
