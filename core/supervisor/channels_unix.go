//go:build unix

package supervisor

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// notifySocket opens a unix datagram socket for one run's sd_notify
// messages, in the run folder (private to the daemon's user). Where the
// path would be too long for a socket, and for a child that runs as
// another user (who cannot enter the private folder), it is in Linux's
// abstract namespace under a random name; elsewhere such a child gets
// none. On Linux every datagram carries its sender's credentials, so that
// readNotify takes only the run's own (NotifyAccess=main, with its process
// group).
func (m *Manager) notifySocket(seq int, otherUser bool) (net.PacketConn, string, error) {
	dir, err := m.runFolder()
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, "n"+strconv.Itoa(seq)+".sock")
	if len(path) >= 100 || otherUser {
		if !abstractSockets {
			return nil, "", fmt.Errorf("no notify socket: the run folder's path is too long, or the child runs as another user")
		}
		var b [8]byte
		_, _ = rand.Read(b[:])
		path = "@velos-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
	}
	c, err := listenNotify(path)
	if err != nil {
		return nil, "", err
	}
	return c, path, nil
}

// listenNotify binds a notify socket at path (a file, replaced if there,
// or an abstract name): a run's first, or the same again for a run a new
// daemon adopts, so that the program's READY=1 and WATCHDOG=1 still land.
func listenNotify(path string) (net.PacketConn, error) {
	if path[0] != '@' {
		_ = os.Remove(path)
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket %s: %w", path, err)
	}
	if abstractSockets {
		if err := passCredentials(c); err != nil {
			c.Close()
			return nil, fmt.Errorf("notify socket %s: %w", path, err)
		}
	}
	return unlinkOnClose{c, path}, nil
}

// unlinkOnClose removes a datagram socket's file when it is closed.
type unlinkOnClose struct {
	*net.UnixConn
	path string
}

func (u unlinkOnClose) Close() error {
	err := u.UnixConn.Close()
	if u.path[0] != '@' {
		_ = os.Remove(u.path)
	}
	return err
}

// ipcPair makes the socket pair of Node's IPC channel: ours, and the child's
// (passed as NODE_CHANNEL_FD).
func ipcPair() (*os.File, *os.File, error) {
	// Close-on-exec before any other fork can see them; the child's end is
	// passed on purpose through ExtraFiles.
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, fmt.Errorf("ipc socketpair: %w", err)
	}
	// Ours is non-blocking so that the runtime poller serves its reads and
	// closing it ends them.
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, nil, fmt.Errorf("ipc socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "ipc"), os.NewFile(uintptr(fds[1]), "ipc-child"), nil
}

// readIPC reads Node's IPC channel until it closes. The channel is
// newline-delimited JSON (NODE_CHANNEL_SERIALIZATION_MODE=json); a message
// sent with a handle (process.send(msg, server)) carries its descriptor as
// SCM_RIGHTS and wants {"cmd":"NODE_HANDLE_ACK"} back before Node sends
// another.
func (r *run) readIPC(f *os.File) {
	fc, err := net.FileConn(f)
	f.Close() // FileConn holds its own copy
	if err != nil {
		r.p.m.log.Warn("node ipc", "err", err)
		return
	}
	c, ok := fc.(*net.UnixConn)
	if !ok {
		fc.Close()
		return
	}
	defer c.Close()
	r.p.mu.Lock()
	r.closers = append(r.closers, c) // closed when the run ends, ending this loop
	r.p.mu.Unlock()
	var (
		line  []byte
		files []*os.File // received, not yet matched with their message
	)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	buf := make([]byte, 64<<10)
	oob := make([]byte, syscall.CmsgSpace(4*16))
	for {
		n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		n, oobn = max(n, 0), max(oobn, 0) // -1 with an error on a closed socket
		if oobn > 0 {
			if msgs, perr := syscall.ParseSocketControlMessage(oob[:oobn]); perr == nil {
				for _, m := range msgs {
					fds, _ := syscall.ParseUnixRights(&m)
					for _, fd := range fds {
						syscall.CloseOnExec(fd)
						files = append(files, os.NewFile(uintptr(fd), "ipc-handle"))
					}
				}
			}
		}
		line = append(line, buf[:n]...)
		for {
			i := indexNL(line)
			if i < 0 {
				break
			}
			msg := line[:i]
			var file *os.File
			if isHandleMessage(msg) && len(files) > 0 {
				file, files = files[0], files[1:]
				_, _ = c.Write([]byte("{\"cmd\":\"NODE_HANDLE_ACK\"}\n"))
			}
			r.onIPC(append([]byte(nil), msg...), file)
			line = line[i+1:]
		}
		if len(line) > 1<<20 { // no line is that long: drop the garbage
			line = line[:0]
		}
		if err != nil || n == 0 && oobn == 0 {
			return
		}
	}
}

func indexNL(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}
