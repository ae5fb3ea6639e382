package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/anet"
	"github.com/aemux/mux/internal/resp"
	"github.com/aemux/mux/internal/resp/resptest"
)

// TestMain checks that no test leaves a goroutine behind (the servers'
// loops included) and removes the binary buildServer made.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtServer.Load() {
		if bin, err := buildServer(); err == nil {
			os.RemoveAll(filepath.Dir(bin))
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testServer is an aeserver running in the test process.
type testServer struct {
	s    *server
	addr string
	done chan error
}

// tlog sends a server's log lines to the test's log.
type tlog struct {
	mu sync.Mutex
	t  testing.TB
	on bool
}

func (w *tlog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.on {
		w.t.Logf("server: %s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func testConfig() config {
	return config{addr: "127.0.0.1:0", backlog: anet.DefaultBacklog, loops: 1, maxClients: 1000, maxBulk: resp.DefaultMaxBulk,
		maxQuery: defaultMaxQuery, pauseOutput: defaultPauseOutput, maxClientMem: defaultMaxClientMem, hz: defaultHz}
}

// startServer runs a server on 127.0.0.1 with a free port, configured by
// mod, until the test ends.
func startServer(t testing.TB, mod func(*config)) *testServer {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(&cfg)
	}
	w := &tlog{t: t, on: true}
	if cfg.logger == nil { // mod may give its own
		cfg.logger = log.New(w, "", 0)
	}
	s, err := newServer(cfg)
	require.NoError(t, err)
	ts := &testServer{s: s, done: make(chan error, 1)}
	if cfg.addr != "" {
		ts.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	}
	go func() { ts.done <- s.serve() }()
	t.Cleanup(func() {
		s.stop()
		select {
		case err := <-ts.done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("the server did not stop within 10 s")
		}
		if err := s.close(); err != nil {
			t.Errorf("close: %v", err)
		}
		w.mu.Lock()
		w.on = false // the test is over: t.Logf would panic
		w.mu.Unlock()
	})
	return ts
}

// onLoop runs fn on loop i's goroutine and waits for it: the way a test
// reads or changes loop state without racing the loop.
func (ts *testServer) onLoop(t testing.TB, i int, fn func(lp *evloop)) {
	t.Helper()
	done := make(chan struct{})
	lp := ts.s.loops[i]
	require.NoError(t, lp.l.Post(func(*aeloop.Loop) { fn(lp); close(done) }))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not run a posted function within 10 s")
	}
}

// client is a test's RESP connection.
type tconn struct {
	t  testing.TB
	c  net.Conn
	r  *bufio.Reader
	in []byte
}

func dial(t testing.TB, addr string) *tconn {
	t.Helper()
	return dialNet(t, "tcp", addr)
}

func dialNet(t testing.TB, network, addr string) *tconn {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &tconn{t: t, c: c, r: bufio.NewReaderSize(c, 64<<10)}
}

// send writes raw bytes.
func (c *tconn) send(b []byte) {
	c.t.Helper()
	c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.c.Write(b)
	require.NoError(c.t, err)
}

// readRaw returns the raw bytes of the next reply.
func (c *tconn) readRaw() []byte {
	c.t.Helper()
	raw, err := c.tryReadRaw(10 * time.Second)
	require.NoError(c.t, err)
	return raw
}

func (c *tconn) tryReadRaw(within time.Duration) ([]byte, error) {
	c.c.SetReadDeadline(time.Now().Add(within))
	return readReply(c.r, &c.in)
}

// readReply returns the raw bytes of the next whole reply: from *in, what
// arrived before and was not consumed yet, reading more from r as needed.
// What follows the reply stays in *in; the returned slice is not written
// to again.
func readReply(r io.Reader, in *[]byte) ([]byte, error) {
	for {
		_, n, err := resptest.ParseReply(*in)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			raw := (*in)[:n:n]
			*in = (*in)[n:]
			return raw, nil
		}
		buf := make([]byte, 64<<10)
		k, err := r.Read(buf)
		*in = append(*in, buf[:k]...)
		if err != nil {
			return nil, err
		}
	}
}

// read returns the next reply.
func (c *tconn) read() resptest.Reply {
	c.t.Helper()
	r, _, err := resptest.ParseReply(c.readRaw())
	require.NoError(c.t, err)
	return r
}

// do sends a command and returns its reply.
func (c *tconn) do(args ...string) resptest.Reply {
	c.t.Helper()
	c.send(resptest.AppendCommand(nil, args...))
	return c.read()
}

// doRaw sends a command and returns its reply's raw bytes.
func (c *tconn) doRaw(args ...string) string {
	c.t.Helper()
	c.send(resptest.AppendCommand(nil, args...))
	return string(c.readRaw())
}

// closedByPeer reports whether the server closed the connection (EOF)
// within the time given, after any replies still buffered.
func (c *tconn) closedByPeer(within time.Duration) bool {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(within))
	buf := make([]byte, 4096)
	for {
		_, err := c.r.Read(buf)
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return true
		}
		if err != nil {
			c.t.Logf("closedByPeer: %v", err)
			return false
		}
	}
}

// isReset reports a connection reset by the peer: "connection reset" and
// "broken pipe" on Unix, WSAECONNRESET's "forcibly closed" on Windows (a
// socket closed with unread input sends a reset).
func isReset(err error) bool {
	if err == nil {
		return false
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe") || strings.Contains(msg, "forcibly closed")
}

// eachBackend runs f once per backend built here.
func eachBackend(t *testing.T, f func(t *testing.T, backend string)) {
	for _, name := range mux.Backends() {
		t.Run(name, func(t *testing.T) { f(t, name) })
	}
}

// tool finds a Redis command-line tool. Without it the test fails when $CI
// is set (CI installs redis-tools and redis-server) and is skipped
// otherwise, saying why.
func tool(t testing.TB, name string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skipf("%s: the Redis tools are Linux programs, which a Windows test binary under Wine cannot run; "+
			"TestWindowsServer, a Linux test, drives aeserver.exe under Wine with them", name)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not on PATH and $CI is set: CI must install it (%v)", name, err)
		}
		t.Skipf("%s is not on PATH (%v): install redis-tools and redis-server to run this test; CI does", name, err)
	}
	return p
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRedis runs a real redis-server on 127.0.0.1 until the test ends and
// returns its address.
func startRedis(t testing.TB) string {
	t.Helper()
	bin := tool(t, "redis-server")
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--databases", "1", "--dir", dir, "--logfile", filepath.Join(dir, "log"))
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not listen on %s within 10 s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var builtServer atomic.Bool // buildServer ran

// buildServer builds the aeserver binary once per test binary run.
var buildServer = sync.OnceValues(func() (string, error) {
	builtServer.Store(true)
	dir, err := os.MkdirTemp("", "aeserver-test")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "aeserver")
	args := []string{"build", "-o", bin}
	// The same build tags as this test binary (-tags libkqueue builds the
	// kqueue backend on Linux, which $AEMUX_BACKEND may then name).
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-tags" && s.Value != "" {
				args = append(args, "-tags", s.Value)
			}
		}
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})
