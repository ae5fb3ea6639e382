package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux/internal/resp/resptest"
)

// Malformed requests get Redis's protocol error and only that connection
// is closed; redis-server answers the same bytes (checked when it is
// installed).
func TestProtocolErrors(t *testing.T) {
	cases := []struct{ in, reply string }{
		{"*1\r\n%4\r\nPING\r\n", "-ERR Protocol error: expected '$', got '%'\r\n"},
		{"*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"*2\r\n$4\r\nECHO\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"ECHO \"abc\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"PING\r\nECHO 'x\r\nPING\r\n", "+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n"},
		{strings.Repeat("x", 70000), "-ERR Protocol error: too big inline request\r\n"},
		{"*" + strings.Repeat("1", 70000), "-ERR Protocol error: too big mbulk count string\r\n"},
	}
	servers := map[string]string{"aeserver": startServer(t, nil).addr}
	if _, err := exec.LookPath("redis-server"); err == nil || os.Getenv("CI") != "" {
		servers["redis-server"] = startRedis(t)
	}
	for name, addr := range servers {
		t.Run(name, func(t *testing.T) {
			bystander := dial(t, addr)
			for _, c := range cases {
				conn := dial(t, addr)
				conn.send([]byte(c.in))
				var got []byte
				for len(got) < len(c.reply) {
					raw, err := conn.tryReadRaw(5 * time.Second)
					require.NoError(t, err, "%.40q", c.in)
					got = append(got, raw...)
				}
				assert.Equal(t, c.reply, string(got), "%.40q", c.in)
				assert.True(t, conn.closedByPeer(5*time.Second), "%.40q: the connection stays open", c.in)
				assert.Equal(t, "PONG", bystander.do("PING").Str, "another client is disturbed")
			}
		})
	}
}

// A bulk argument over -proto-max-bulk-len is refused before any of it is
// read; under the limit it is fine.
func TestBulkLimit(t *testing.T) {
	ts := startServer(t, func(c *config) { c.maxBulk = 1 << 10 })
	c := dial(t, ts.addr)
	assert.Equal(t, strings.Repeat("a", 1<<10), c.do("ECHO", strings.Repeat("a", 1<<10)).Str)
	c.send([]byte("*2\r\n$4\r\nECHO\r\n$1025\r\n"))
	assert.Equal(t, "-ERR Protocol error: invalid bulk length\r\n", string(c.readRaw()))
	assert.True(t, c.closedByPeer(5*time.Second))
}

// A client whose unparsed input passes -client-query-buffer-limit is
// closed; the others go on.
func TestQueryBufferLimit(t *testing.T) {
	ts := startServer(t, func(c *config) { c.maxQuery = 64 << 10 })
	bystander := dial(t, ts.addr)
	c := dial(t, ts.addr)
	c.send([]byte("*2\r\n$4\r\nECHO\r\n$200000\r\n"))
	big := bytes.Repeat([]byte("x"), 100<<10)
	c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.c.Write(big) // may fail once the server has closed
	assert.True(t, c.closedByPeer(5*time.Second))
	assert.Equal(t, "PONG", bystander.do("PING").Str)
	// A request as large, but complete in the limit, is served.
	v := strings.Repeat("y", 60<<10)
	assert.Equal(t, v, bystander.do("ECHO", v).Str)
}

// Past -maxclients a connection gets Redis's error and is closed; once a
// client leaves, a new one is served.
func TestMaxClients(t *testing.T) {
	ts := startServer(t, func(c *config) { c.maxClients = 5 })
	var conns []*tconn
	for range 5 {
		c := dial(t, ts.addr)
		require.Equal(t, "PONG", c.do("PING").Str)
		conns = append(conns, c)
	}
	extra := dial(t, ts.addr)
	assert.Equal(t, "-ERR max number of clients reached\r\n", string(extra.readRaw()))
	assert.True(t, extra.closedByPeer(5*time.Second))
	conns[0].c.Close()
	// Once the server has seen that client go, a new one is served.
	require.Eventually(t, func() bool {
		return strings.Contains(conns[1].do("INFO", "clients").Str, "connected_clients:4\r\n")
	}, 5*time.Second, 10*time.Millisecond)
	again := dial(t, ts.addr)
	assert.Equal(t, "PONG", again.do("PING").Str)
	assert.Contains(t, conns[1].do("INFO", "stats").Str, "rejected_connections:1\r\n")
}

// A client that pipelines large replies without reading them is not read
// from while its unsent output is above -pause-output, so the server's
// memory for it stays bounded; every reply still arrives, intact.
func TestPauseOutput(t *testing.T) {
	const pause = 64 << 10
	ts := startServer(t, func(c *config) { c.pauseOutput = pause })
	value := strings.Repeat("v", 256<<10)
	setter := dial(t, ts.addr)
	require.Equal(t, "OK", setter.do("SET", "big", value).Str)

	c := dial(t, ts.addr)
	const n = 200 // 50 MiB of replies
	var req []byte
	for range n {
		req = resptest.AppendCommand(req, "GET", "big")
	}
	go c.c.Write(req) // blocks once the server stops reading; ends when it reads again
	time.Sleep(300 * time.Millisecond)
	worst := 0
	for range 5 {
		ts.onLoop(t, 0, func(lp *evloop) {
			for cl := range lp.clients() {
				worst = max(worst, cl.conn.Unsent())
			}
		})
		time.Sleep(20 * time.Millisecond)
	}
	// One GET's reply may push the output past the limit; nothing more.
	assert.LessOrEqual(t, worst, pause+len(value)+64, "unsent output grew past the limit")
	assert.Equal(t, "PONG", setter.do("PING").Str, "another client is disturbed")
	for i := range n {
		r := c.read()
		require.Equal(t, len(value), len(r.Str), "reply %d", i)
	}
}

// 1,000 concurrent connections, each checking its own replies.
func TestThousandConnections(t *testing.T) {
	t.Run("default", func(t *testing.T) { thousandConnections(t, 0) })
	// Accepting 7 at a time, most listener events leave connections
	// waiting: with edge-triggered readiness no new event reports them, so
	// this checks that the loop comes back for them.
	t.Run("accept_batch_7", func(t *testing.T) { thousandConnections(t, 7) })
}

func thousandConnections(t *testing.T, acceptBatch int) {
	ts := startServer(t, func(c *config) { c.maxClients = 2000; c.acceptBatch = acceptBatch })
	const conns = 1000
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", ts.addr, 10*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			key := "conn:" + strconv.Itoa(i)
			var req []byte
			req = resptest.AppendCommand(req, "SET", key, strconv.Itoa(i))
			req = resptest.AppendCommand(req, "INCR", key)
			req = resptest.AppendCommand(req, "GET", key)
			req = resptest.AppendCommand(req, "PING")
			if _, err := c.Write(req); err != nil {
				errs <- err
				return
			}
			want := fmt.Sprintf("+OK\r\n:%d\r\n$%d\r\n%d\r\n+PONG\r\n", i+1, len(strconv.Itoa(i+1)), i+1)
			got := make([]byte, 0, len(want))
			buf := make([]byte, 256)
			for len(got) < len(want) {
				n, err := c.Read(buf)
				if err != nil {
					errs <- fmt.Errorf("conn %d: %v after %q", i, err, got)
					return
				}
				got = append(got, buf[:n]...)
			}
			if string(got) != want {
				errs <- fmt.Errorf("conn %d: got %q, want %q", i, got, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c := dial(t, ts.addr)
	assert.Equal(t, int64(conns), c.do("DBSIZE").Int)
}

// Pipelining: every complete command in one read is run, and the replies
// come back in order.
func TestPipelining(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	var req []byte
	for i := range 1000 {
		if i%100 == 0 {
			req = append(req, "PING\r\n"...)
		}
		req = resptest.AppendCommand(req, "INCR", "n")
	}
	c.send(req)
	next := int64(1)
	for i := range 1000 {
		if i%100 == 0 {
			require.Equal(t, "PONG", c.read().Str)
		}
		r := c.read()
		require.Equal(t, next, r.Int)
		next++
	}
}

// QUIT: the replies before it, +OK, then the connection is closed and
// nothing after QUIT runs.
func TestQuit(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	c.send([]byte("INCR n\r\nQUIT\r\nINCR n\r\n"))
	assert.Equal(t, ":1\r\n", string(c.readRaw()))
	assert.Equal(t, "+OK\r\n", string(c.readRaw()))
	assert.True(t, c.closedByPeer(5*time.Second))
	assert.Equal(t, "1", dial(t, ts.addr).do("GET", "n").Str)
}

// Large values cross the socket in many reads and writes (the write
// handler path), intact.
func TestLargeValues(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		ts := startServer(t, func(c *config) { c.backend = backend })
		c := dial(t, ts.addr)
		v := make([]byte, 8<<20)
		for i := range v {
			v[i] = byte(i * 7)
		}
		require.Equal(t, "OK", c.do("SET", "v", string(v)).Str)
		got := c.do("GET", "v")
		require.Equal(t, len(v), len(got.Str))
		assert.True(t, string(v) == got.Str, "the value came back changed")
	})
}

// Keys expire when read after their time (lazily) and, unread, from the
// periodic timer (actively).
func TestExpiry(t *testing.T) {
	ts := startServer(t, func(c *config) { c.hz = 50 })
	c := dial(t, ts.addr)
	require.Equal(t, "OK", c.do("SET", "lazy", "v", "PX", "30").Str)
	time.Sleep(60 * time.Millisecond)
	assert.True(t, c.do("GET", "lazy").Null)
	for i := range 200 {
		require.Equal(t, "OK", c.do("SET", "active:"+strconv.Itoa(i), "v", "PX", "20").Str)
	}
	require.Equal(t, "OK", c.do("SET", "forever", "v").Str)
	require.Eventually(t, func() bool { return c.do("DBSIZE").Int == 1 }, 5*time.Second, 20*time.Millisecond,
		"keys past their TTL were never removed")
	assert.Contains(t, c.do("INFO", "stats").Str, "expired_keys:201\r\n")
	assert.Equal(t, "v", c.do("GET", "forever").Str)
}

// -loops N: connections spread over the loops, which share one keyspace.
func TestMultipleLoops(t *testing.T) {
	ts := startServer(t, func(c *config) { c.loops = 2 })
	var conns []*tconn
	for i := range 64 {
		c := dial(t, ts.addr)
		require.Equal(t, int64(i+1), c.do("INCR", "shared").Int)
		conns = append(conns, c)
	}
	for i := range ts.s.loops {
		n := 0
		ts.onLoop(t, i, func(lp *evloop) { n = lp.cl.Conns() })
		// SO_REUSEPORT spreads 64 (Linux, FreeBSD); elsewhere the first
		// loop hands them out in turn.
		assert.Positive(t, n, "loop %d got no connection", i)
	}
	assert.Equal(t, "64", conns[63].do("GET", "shared").Str)
	assert.Contains(t, conns[0].do("INFO", "server").Str, "event_loops:2\r\n")
}

// A Unix socket, with its permissions.
func TestUnixSocket(t *testing.T) {
	if runtime.GOOS == "windows" {
		// anet has no Unix sockets on Windows: -unix is refused.
		cfg := testConfig()
		cfg.unixPath = "aeserver.sock"
		_, err := newServer(cfg)
		require.ErrorIs(t, err, errors.ErrUnsupported)
		return
	}
	path := filepath.Join(t.TempDir(), "aeserver.sock")
	ts := startServer(t, func(c *config) { c.unixPath, c.unixPerm = path, 0o700 })
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	c := dialNet(t, "unix", path)
	assert.Equal(t, "PONG", c.do("PING").Str)
	assert.Equal(t, "OK", c.do("SET", "k", "v").Str)
	assert.Equal(t, "v", dial(t, ts.addr).do("GET", "k").Str, "TCP and Unix clients share the keyspace")
}

// An idle client is closed after -timeout.
func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, func(c *config) { c.idle, c.hz = 200*time.Millisecond, 50 })
	c := dial(t, ts.addr)
	require.Equal(t, "PONG", c.do("PING").Str)
	assert.True(t, c.closedByPeer(5*time.Second))
}

// Hostile input from many connections at once (random bytes, connections
// reset mid-request) neither crashes the server nor disturbs a client
// that behaves.
func TestGarbage(t *testing.T) {
	ts := startServer(t, nil)
	good := dial(t, ts.addr)
	rng := rand.New(rand.NewPCG(1, 2))
	var wg sync.WaitGroup
	for i := range 50 {
		junk := make([]byte, 1+rng.IntN(4096))
		for j := range junk {
			junk[j] = byte(rng.IntN(256))
		}
		if i%3 == 0 {
			junk = append([]byte("*5\r\n$3\r\nSET\r\n"), junk...)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", ts.addr)
			if err != nil {
				return
			}
			c.Write(junk)
			if i%2 == 0 {
				c.(*net.TCPConn).SetLinger(0) // RST
			}
			c.Close()
		}()
	}
	wg.Wait()
	for range 20 {
		require.Equal(t, "PONG", good.do("PING").Str)
	}
}

// The binary: SIGTERM shuts it down cleanly (exit 0, the Unix socket file
// removed).
func TestShutdown(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no SIGTERM to send (os.Process.Signal can only kill there), and -unix is refused")
	}
	bin, err := buildServer()
	require.NoError(t, err)
	sock := filepath.Join(t.TempDir(), "s.sock")
	port := freePort(t)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:"+strconv.Itoa(port), "-unix", sock)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	require.NoError(t, cmd.Start())
	waitListening(t, "tcp", "127.0.0.1:"+strconv.Itoa(port))
	// The Unix listener opens after the TCP one: wait for it too.
	waitListening(t, "unix", sock)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, waitExit(cmd, 10*time.Second), "%s", logs.String())
	_, err = os.Stat(sock)
	assert.True(t, os.IsNotExist(err), "the socket file is left behind")
}

// waitListening waits up to 10 s until a connection to addr on network
// ("tcp", "unix") succeeds.
func waitListening(t testing.TB, network, addr string) {
	t.Helper()
	require.Eventually(t, func() bool {
		c, err := net.Dial(network, addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "nothing listens on %s", addr)
}

func waitExit(cmd *exec.Cmd, within time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		cmd.Process.Kill()
		return fmt.Errorf("did not exit within %v", within)
	}
}
