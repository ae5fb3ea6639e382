//go:build unix

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The attacks of issue 19 that need the binary: a stderr that is closed or
// never read, an fd limit (ulimit -n), the process's RSS. They run on every
// backend and mode (eachMode's flags) where the mode matters.

// modeFlags turns eachMode's configuration into the binary's flags.
func modeFlags(mod func(*config)) []string {
	var cfg config
	mod(&cfg)
	flags := []string{"-backend", cfg.backend}
	if cfg.level {
		flags = append(flags, "-level")
	}
	return flags
}

// binServer is the aeserver binary, run by a test.
type binServer struct {
	cmd  *exec.Cmd
	addr string
}

// startBinary runs the aeserver binary with args on a free port, under
// "ulimit -n" nofile when nofile > 0, with stderr and extra inherited fds
// as given, and waits until it listens.
func startBinary(t *testing.T, nofile int, stderr any, extra []*os.File, args ...string) *binServer {
	t.Helper()
	bin, err := buildServer()
	require.NoError(t, err)
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	args = append([]string{"-addr", addr}, args...)
	var cmd *exec.Cmd
	if nofile > 0 {
		cmd = exec.Command("/bin/sh", append([]string{"-c", `ulimit -n ` + strconv.Itoa(nofile) + ` && exec "$0" "$@"`, bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	switch e := stderr.(type) {
	case *os.File:
		cmd.Stderr = e
	case *safeBuffer:
		cmd.Stderr = e
	}
	cmd.ExtraFiles = extra
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitListening(t, "tcp", addr)
	return &binServer{cmd: cmd, addr: addr}
}

// ping reports whether a new connection gets PONG within d.
func ping(addr string, d time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, d)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("got %q", line)
	}
	return nil
}

// badRequests opens n connections that each send a malformed request and
// read the error.
func badRequests(t *testing.T, addr string, n int) {
	t.Helper()
	for i := range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err, "request %d", i)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("*abc\r\n"))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		require.NoError(t, err, "bad request %d: no reply (the loop is stuck?)", i)
		require.Equal(t, "-ERR Protocol error: invalid multibulk length\r\n", line)
	}
}

// Issue 19, item 4: when the reader of stderr has gone, a protocol error
// (the server logs it) does not kill the server with SIGPIPE.
func TestClosedStderr(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	r.Close() // nobody will ever read: a write gets EPIPE (and SIGPIPE, unless ignored)
	srv := startBinary(t, 0, w, nil)
	w.Close()
	badRequests(t, srv.addr, 20)
	require.NoError(t, ping(srv.addr, 5*time.Second), "the server died or hangs after logging to a closed stderr")
	require.NoError(t, srv.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, waitExit(srv.cmd, 10*time.Second))
}

// Issue 19, item 4: with stderr a pipe that nobody reads, thousands of
// protocol errors fill it, and the server goes on serving and still shuts
// down on SIGTERM.
func TestBlockedStderr(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close() // open, never read: the 64 KiB pipe fills
	srv := startBinary(t, 0, w, nil)
	w.Close()
	badRequests(t, srv.addr, 2000) // 2000 lines of log at least: more than the pipe holds
	require.NoError(t, ping(srv.addr, 2*time.Second), "the loop blocks on a full stderr")
	require.NoError(t, srv.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, waitExit(srv.cmd, 10*time.Second), "SIGTERM does not stop a server whose stderr is full")
}

// answer reads a connection's first line within d.
func answer(c net.Conn, d time.Duration) (string, error) {
	c.SetReadDeadline(time.Now().Add(d))
	return bufio.NewReader(c).ReadString('\n')
}

// Issue 19, item 6: -maxclients above what the fd limit allows is lowered
// at start, with one log line, so that a client past it gets Redis's error
// at once instead of hanging in the backlog while accept fails.
func TestMaxClientsFitsFdLimit(t *testing.T) {
	eachMode(t, func(t *testing.T, mod func(*config)) {
		const nofile = 100
		var logs safeBuffer
		srv := startBinary(t, nofile, &logs, nil, append(modeFlags(mod), "-maxclients", "1000")...)
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), "maxclients lowered") }, 5*time.Second, 10*time.Millisecond,
			"no word of lowering maxclients; logs:\n%s", logs.String())
		m := regexp.MustCompile(`maxclients lowered from 1000 \(-maxclients\) to (\d+) `).FindStringSubmatch(logs.String())
		require.NotNil(t, m, "logs:\n%s", logs.String())
		want, _ := strconv.Atoi(m[1])
		// The server keeps a few dozen fds for itself (stdio, listener,
		// poller, waker, spare), no more.
		require.Greater(t, want, nofile-64)
		require.Less(t, want, nofile-8)
		assert.Equal(t, 1, strings.Count(logs.String(), "maxclients lowered"))
		served, refused := 0, 0
		for i := range want + 10 {
			c, err := net.DialTimeout("tcp", srv.addr, 5*time.Second)
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			c.Write([]byte("PING\r\n"))
			line, err := answer(c, 3*time.Second)
			require.NoError(t, err, "connection %d got no answer", i)
			switch line {
			case "+PONG\r\n":
				served++
			case "-ERR max number of clients reached\r\n":
				refused++
			default:
				t.Fatalf("connection %d: %q", i, line)
			}
		}
		assert.Equal(t, want, served)
		assert.Equal(t, 10, refused)
	})
}

// Issue 19, item 6: when accept fails with EMFILE anyway (here 50 fds the
// server inherited and does not know of), the waiting clients get Redis's
// error at once rather than a connect timeout, the server does not spin,
// logs one line, and serves new clients once fds are free again.
func TestAcceptEMFILE(t *testing.T) {
	eachMode(t, func(t *testing.T, mod func(*config)) {
		var extra []*os.File
		for range 50 {
			f, err := os.Open(os.DevNull)
			require.NoError(t, err)
			t.Cleanup(func() { f.Close() })
			extra = append(extra, f)
		}
		var logs safeBuffer
		srv := startBinary(t, 100, &logs, extra, modeFlags(mod)...)
		var conns []net.Conn
		served, refused := 0, 0
		for i := range 70 {
			c, err := net.DialTimeout("tcp", srv.addr, 5*time.Second)
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			c.Write([]byte("PING\r\n"))
			line, err := answer(c, 3*time.Second)
			require.NoError(t, err, "connection %d got no answer: hangs in the backlog? logs:\n%s", i, logs.String())
			switch line {
			case "+PONG\r\n":
				served++
				conns = append(conns, c)
			case "-ERR max number of clients reached\r\n":
				refused++
			default:
				t.Fatalf("connection %d: %q", i, line)
			}
		}
		t.Logf("served %d, refused %d", served, refused)
		require.Positive(t, refused, "no accept failed: the test shows nothing (logs:\n%s)", logs.String())
		require.Greater(t, served, 10)
		cpu0 := cpuTime(t, srv.cmd.Process.Pid)
		time.Sleep(time.Second)
		assert.Less(t, cpuTime(t, srv.cmd.Process.Pid)-cpu0, 200*time.Millisecond, "the server spins while out of fds")
		assert.LessOrEqual(t, strings.Count(logs.String(), "accept:"), 1, "logs:\n%s", logs.String())
		for _, c := range conns[:10] {
			c.Close()
		}
		require.Eventually(t, func() bool { return ping(srv.addr, 2*time.Second) == nil }, 5*time.Second, 50*time.Millisecond,
			"no client is served once fds are free")
	})
}

// rss is a process's resident set, from /proc.
func rss(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc/PID/status (%v): cannot read the server's RSS", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// Issue 19, item 7: after clients that held a lot of memory leave, the
// server's RSS comes back within 10 s to within twice its idle RSS (there
// is no live data). The backend does not matter here: the default one.
func TestMemoryGivenBack(t *testing.T) {
	srv := startBinary(t, 0, nil, nil)
	c := dial(t, srv.addr)
	// Idle, but warm: the paths the attack takes have run (their code is
	// paged in) and a few MiB went through.
	for i := range 200 {
		require.Equal(t, "OK", c.do("SET", "k"+strconv.Itoa(i), "v").Str)
	}
	require.Len(t, c.do("ECHO", strings.Repeat("w", 4<<20)).Str, 4<<20)
	time.Sleep(2*time.Second + 500*time.Millisecond) // aeconn's ReleaseMemory checks every 2 s
	idle := rss(t, srv.cmd.Process.Pid)
	// 8 clients each send 24 MiB of a 64 MiB argument and stop there.
	const clients, part = 8, 24 << 20
	chunk := bytes.Repeat([]byte("z"), 1<<20)
	var conns []*tconn
	for range clients {
		a := dial(t, srv.addr)
		a.send([]byte("*2\r\n$4\r\nECHO\r\n$67108864\r\n"))
		for range part / len(chunk) {
			a.send(chunk)
		}
		conns = append(conns, a)
	}
	require.Equal(t, "PONG", c.do("PING").Str)
	peak := rss(t, srv.cmd.Process.Pid)
	require.Greater(t, peak, idle+clients*part/2, "the attack did not take memory: the test shows nothing")
	for _, a := range conns {
		a.c.Close()
	}
	start := time.Now()
	for rss(t, srv.cmd.Process.Pid) > 2*idle && time.Since(start) < 10*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	now := rss(t, srv.cmd.Process.Pid)
	t.Logf("RSS idle %d KiB, peak %d MiB, %d KiB %v after the clients left", idle>>10, peak>>20, now>>10, time.Since(start).Round(100*time.Millisecond))
	assert.LessOrEqual(t, now, 2*idle, "the memory of clients that left is not given back within 10 s")
	require.Equal(t, "PONG", c.do("PING").Str)
}

// cpuTime is a process's user+system time, from /proc.
func cpuTime(t testing.TB, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Skipf("no /proc/PID/stat (%v): cannot tell a spinning server", err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// safeBuffer is a bytes.Buffer for a child's stderr read while it runs.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
