// Package testenv runs the real velos binaries for end-to-end tests and
// evals: velos and velosd built once per test binary into one folder (so
// velos finds velosd beside itself, as installed), each test with its own
// VELOS_HOME, talking to a real daemon on a real unix socket.
package testenv

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error

	appOnce sync.Once
	appPath string
	appErr  error
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Velos builds ./cmd/velos and ./cmd/velosd once per test process, into
// one folder, and returns the path of velos.
func Velos(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "velos-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "velos")
		cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/velos", "./cmd/velosd")
		cmd.Dir = Root()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // static, as make build makes them
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatalf("build velos: %v", buildErr)
	}
	return binPath
}

// TestApp builds ./internal/testapp once per test process and returns its
// path: a program whose flags make it report readiness, heartbeat, serve
// HTTP on a passed socket or its PORT, and stop gracefully.
func TestApp(t testing.TB) string {
	t.Helper()
	appOnce.Do(func() {
		dir, err := os.MkdirTemp("", "velos-testapp")
		if err != nil {
			appErr = err
			return
		}
		appPath = filepath.Join(dir, "testapp")
		cmd := exec.Command("go", "build", "-o", appPath, "./internal/testapp")
		cmd.Dir = Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			appErr = &buildError{out: string(out), err: err}
		}
	})
	if appErr != nil {
		t.Fatalf("build testapp: %v", appErr)
	}
	return appPath
}

// FreePort returns a loopback TCP port free at this instant.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Velosd is the daemon binary built beside [Velos].
func Velosd(t testing.TB) string {
	t.Helper()
	return filepath.Join(filepath.Dir(Velos(t)), "velosd")
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// Env is one VELOS_HOME with its daemon, torn down (velos kill) at cleanup.
type Env struct {
	T    testing.TB
	Bin  string
	Home string
}

// New makes a fresh VELOS_HOME. Its path is short: unix socket paths are
// limited to 108 bytes and t.TempDir() names can be longer.
func New(t testing.TB) *Env {
	t.Helper()
	home, err := os.MkdirTemp("", "vh")
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{T: t, Bin: Velos(t), Home: home}
	t.Cleanup(func() {
		e.Run("kill")
		os.RemoveAll(home)
	})
	return e
}

// Result is what one CLI run printed and returned.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs `velos args…` with this home, as a user would.
func (e *Env) Run(args ...string) Result {
	return e.RunIn("", args...)
}

// RunIn is Run with a working directory.
func (e *Env) RunIn(dir string, args ...string) Result {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.Bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VELOS_HOME="+e.Home, "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.T.Fatalf("velos %s: %v", strings.Join(args, " "), err)
	}
	return Result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// MustRun is Run that fails the test on a non-zero exit.
func (e *Env) MustRun(args ...string) string {
	e.T.Helper()
	r := e.Run(args...)
	if r.Code != 0 {
		log, _ := os.ReadFile(filepath.Join(e.Home, "daemon.log"))
		e.T.Fatalf("velos %s: exit %d\nstdout: %s\nstderr: %s\ndaemon.log:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr, tail(string(log), 30))
	}
	return r.Stdout
}

// MustRunIn is RunIn that fails the test on a non-zero exit.
func (e *Env) MustRunIn(dir string, args ...string) string {
	e.T.Helper()
	r := e.RunIn(dir, args...)
	if r.Code != 0 {
		log, _ := os.ReadFile(filepath.Join(e.Home, "daemon.log"))
		e.T.Fatalf("velos %s: exit %d\nstdout: %s\nstderr: %s\ndaemon.log:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr, tail(string(log), 30))
	}
	return r.Stdout
}

// Connect opens an MCP session on the daemon socket, starting the daemon
// first through the CLI (as a user's first command would).
func (e *Env) Connect(opts *mcp.ClientSessionOptions) *mcp.ClientSession {
	e.T.Helper()
	return e.ConnectClient(mcp.NewClient(&mcp.Implementation{Name: "test"}, nil), opts)
}

// ConnectClient is [Env.Connect] with a client of the caller's (to set
// notification handlers).
func (e *Env) ConnectClient(c *mcp.Client, opts *mcp.ClientSessionOptions) *mcp.ClientSession {
	e.T.Helper()
	e.MustRun("list")
	conn, err := net.Dial("unix", filepath.Join(e.Home, "velos.sock"))
	if err != nil {
		e.T.Fatal(err)
	}
	cs, err := c.Connect(context.Background(), &mcp.IOTransport{Reader: conn, Writer: conn}, opts)
	if err != nil {
		e.T.Fatal(err)
	}
	e.T.Cleanup(func() { cs.Close() })
	return cs
}

// Bridge opens an MCP session through a real `velos mcp-server` subprocess.
func (e *Env) Bridge(opts *mcp.ClientSessionOptions) *mcp.ClientSession {
	e.T.Helper()
	return e.BridgeClient(mcp.NewClient(&mcp.Implementation{Name: "test"}, nil), opts)
}

// BridgeClient is [Env.Bridge] with a client of the caller's, and more
// arguments for velos mcp-server.
func (e *Env) BridgeClient(c *mcp.Client, opts *mcp.ClientSessionOptions, args ...string) *mcp.ClientSession {
	e.T.Helper()
	cmd := exec.Command(e.Bin, append([]string{"mcp-server"}, args...)...)
	cmd.Env = append(os.Environ(), "VELOS_HOME="+e.Home)
	cs, err := c.Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, opts)
	if err != nil {
		e.T.Fatal(err)
	}
	e.T.Cleanup(func() { cs.Close() })
	return cs
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
