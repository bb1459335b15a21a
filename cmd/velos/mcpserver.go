package main

import (
	"io"
	"net"
	"os"

	"github.com/velos-pm/velos/core/daemon"
)

type mcpServerCmd struct{}

// Run pipes stdio to the daemon socket. Both sides speak newline-delimited
// JSON-RPC, so the bridge is bytes only: every tool, resource and protocol
// revision the daemon serves reaches the client unchanged.
func (mcpServerCmd) Run(home daemon.Home) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	conn, err := daemon.Dial(home, true, exe)
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(os.Stdout, conn)
		close(done)
	}()
	_, _ = io.Copy(conn, os.Stdin)
	if uc, ok := conn.(*net.UnixConn); ok {
		_ = uc.CloseWrite()
	}
	<-done
	return nil
}
