//go:build linux

package aeconn_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/aemux/mux/aeconn"
	"github.com/aemux/mux/anet"
	"github.com/aemux/mux/internal/fdtest"
)

// childEnv makes the test binary a child server (runChild) instead of
// running tests.
const childEnv = "AECONN_TEST_CHILD"

// runChild runs the child the parent asked for, and exits.
//
//	idle-server   an echo server; prints its address, serves until stdin closes
//	fit-clients   lowers the hard fd limit to 300, prints New's MaxClients
func runChild() {
	switch os.Getenv(childEnv) {
	case "":
		return
	case "idle-server":
		srv, err := aeconn.New(aeconn.Config{Listen: tcpListen()}, aeconn.Handler[struct{}]{OnData: echoLines[struct{}]})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		go func() {
			io.Copy(io.Discard, os.Stdin)
			srv.Stop()
		}()
		fmt.Println(srv.Addrs()[0])
		srv.Serve()
		srv.Close()
	case "fit-clients":
		lim := unix.Rlimit{Cur: 300, Max: 300}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		var reported error
		srv, err := aeconn.New(aeconn.Config{Listen: tcpListen()}, aeconn.Handler[int]{
			OnData:  echoLines[int],
			OnError: func(err error) { reported = err },
		})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(srv.MaxClients(), errors.Is(reported, aeconn.ErrMaxClientsLowered))
		srv.Close()
	}
	os.Exit(0)
}

// child starts the test binary as the child server mode and returns it
// with its first line of output.
func child(t *testing.T, mode string) (*exec.Cmd, io.WriteCloser, string) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	return cmd, stdin, strings.TrimSpace(line)
}

// TestMaxClientsFitsFdLimit: with a hard fd limit of 300, New lowers the
// default 10,000 max clients to what fits, and says so through OnError.
func TestMaxClientsFitsFdLimit(t *testing.T) {
	_, _, line := child(t, "fit-clients")
	f := strings.Fields(line)
	require.Len(t, f, 2, "child said %q", line)
	n, err := strconv.Atoi(f[0])
	require.NoError(t, err, "child said %q", line)
	require.Greater(t, n, 200)
	require.Less(t, n, 300)
	require.Equal(t, "true", f[1], "ErrMaxClientsLowered reported")
}

// rss returns a process's resident set size in bytes.
func rss(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, err := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestIdleConnMemory measures the resident memory per idle conn of a
// server (a child process, so that its RSS is its own) holding 10,000
// conns that each made one request: the layer keeps no buffer for an idle
// conn, so it must stay well under 1 KB.
func TestIdleConnMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 connections: not in -short")
	}
	if raceEnabled {
		t.Skip("under the race detector, shadow memory makes RSS several times the program's")
	}
	const conns = 10000
	var lim unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &lim))
	if lim.Max < conns+500 {
		t.Skipf("the hard fd limit (%d) leaves no room for %d conns", lim.Max, conns)
	}
	lim.Cur = lim.Max
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &lim))
	cmd, _, addr := child(t, "idle-server")
	require.False(t, strings.HasPrefix(addr, "error"), addr)
	// A first conn, so that the loop's buffers and the runtime are warm.
	roundTrip(t, addr, "warm")
	time.Sleep(200 * time.Millisecond)
	before := rss(t, cmd.Process.Pid)
	cs := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	buf := make([]byte, 16)
	for i := range conns {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err, "conn %d", i)
		cs = append(cs, c)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = io.WriteString(c, "ping\n")
		require.NoError(t, err)
		_, err = io.ReadFull(c, buf[:5])
		require.NoError(t, err, "conn %d", i)
	}
	time.Sleep(500 * time.Millisecond) // a cron or more: spare buffers trimmed
	after := rss(t, cmd.Process.Pid)
	per := float64(after-before) / conns
	t.Logf("server RSS %.1f MiB with 1 conn, %.1f MiB with %d idle conns: %.0f bytes per idle conn",
		float64(before)/(1<<20), float64(after)/(1<<20), conns+1, per)
	require.Less(t, per, 1024.0, "bytes of RSS per idle conn")
}

// TestAcceptPausesOutOfFds: out of fds, accepting pauses (reported once)
// without the loop spinning, and resumes as conns close, until every
// waiting connection is served.
func TestAcceptPausesOutOfFds(t *testing.T) {
	const clients = 12
	var paused atomic.Int64
	var opened atomic.Int64
	srv, err := aeconn.New(aeconn.Config{Listen: tcpListen()}, aeconn.Handler[int]{
		OnOpen: func(*aeconn.Conn[int]) { opened.Add(1) },
		OnData: func(c *aeconn.Conn[int], in []byte) int {
			c.Write(in)
			c.CloseAfterWrite()
			return len(in)
		},
		OnError: func(err error) {
			if errors.Is(err, aeconn.ErrAcceptPaused) {
				paused.Add(1)
			}
		},
	})
	require.NoError(t, err)
	var cs []net.Conn
	for range clients {
		c, err := net.Dial("tcp", srv.Addrs()[0]) // queued in the backlog
		require.NoError(t, err)
		cs = append(cs, c)
	}
	var lim unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &lim))
	saved := lim
	lim.Cur = uint64(len(fdtest.OpenFds()) + 4)
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &lim))
	defer unix.Setrlimit(unix.RLIMIT_NOFILE, &saved)
	serve(t, srv)
	require.Eventually(t, func() bool { return paused.Load() > 0 }, 2*time.Second, time.Millisecond, "no ErrAcceptPaused")
	stats := func() uint64 {
		ch := make(chan uint64, 1)
		srv.Loops()[0].Post(func(lp *aeconn.Loop[int]) { ch <- lp.AE().Stats().Iterations })
		return <-ch
	}
	it0 := stats()
	time.Sleep(300 * time.Millisecond)
	iters := stats() - it0
	require.Less(t, iters, uint64(200), "the loop spun while out of fds")
	require.Less(t, opened.Load(), int64(clients))
	// Each conn served frees its fd for the next.
	for i, c := range cs {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "x")
		b, err := io.ReadAll(c)
		require.NoError(t, err, "client %d", i)
		require.Equal(t, "x", string(b), "client %d", i)
		c.Close()
	}
	require.EqualValues(t, clients, opened.Load())
	unix.Setrlimit(unix.RLIMIT_NOFILE, &saved)
}

// TestDialTimeout: a connect that the server's full backlog leaves
// unanswered closes with ErrDialTimeout after the timeout, not before.
func TestDialTimeout(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	require.NoError(t, unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, unix.Listen(fd, 0))
	sa, err := unix.Getsockname(fd)
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	// Fill the backlog (never accepted): later SYNs are dropped.
	for range 4 {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			defer c.Close()
		}
	}
	type outcome struct {
		err error
		at  time.Duration
	}
	done := make(chan outcome, 1)
	var start time.Time
	cl, err := aeconn.New(aeconn.Config{}, aeconn.Handler[int]{
		OnData:  echoLines[int],
		OnClose: func(c *aeconn.Conn[int], err error) { done <- outcome{err, time.Since(start)} },
	})
	require.NoError(t, err)
	serve(t, cl)
	const timeout = 150 * time.Millisecond
	start = time.Now()
	require.NoError(t, cl.Dial("tcp", addr, timeout, 0))
	select {
	case o := <-done:
		if o.err == nil || !errors.Is(o.err, aeconn.ErrDialTimeout) {
			t.Skipf("the kernel answered the connect (%v): the backlog did not hold it", o.err)
		}
		require.GreaterOrEqual(t, o.at, timeout)
	case <-time.After(5 * time.Second):
		t.Fatal("no outcome")
	}
}

// TestRejectOutOfFds: with RejectOutOfFds, connections waiting while the
// process is out of fds get OnReject's answer at once instead of hanging in
// the backlog; ErrOutOfFds is reported, Stats counts them rejected, and
// new connections are served once fds are free again.
func TestRejectOutOfFds(t *testing.T) {
	const clients = 12
	var outOfFds atomic.Int64
	srv, err := aeconn.New(aeconn.Config{Listen: tcpListen(), RejectOutOfFds: true}, aeconn.Handler[int]{
		OnData:   echoLines[int],
		OnReject: func(fd int) { anet.Write(fd, []byte("full\n")) },
		OnError: func(err error) {
			if errors.Is(err, aeconn.ErrOutOfFds) {
				outOfFds.Add(1)
			}
		},
	})
	require.NoError(t, err)
	var lim unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &lim))
	saved := lim
	defer unix.Setrlimit(unix.RLIMIT_NOFILE, &saved)
	var cs []net.Conn
	for range clients {
		c, err := net.Dial("tcp", srv.Addrs()[0]) // queued in the backlog
		require.NoError(t, err)
		defer c.Close()
		cs = append(cs, c)
	}
	// Room for the spare and two conns.
	lim.Cur = uint64(len(fdtest.OpenFds()) + 2)
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &lim))
	serve(t, srv)
	rejected := 0
	for i, c := range cs {
		// A rejected conn gets its answer at once; an accepted one waits
		// for a request.
		c.SetDeadline(time.Now().Add(time.Second))
		r := bufio.NewReader(c)
		line, err := r.ReadString('\n')
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "x\n")
			line, err = r.ReadString('\n')
			require.NoError(t, err, "client %d got no answer", i)
			require.Equal(t, "x\n", line)
			continue
		}
		require.Equal(t, "full\n", line, "client %d", i)
		rejected++
	}
	require.Greater(t, rejected, clients/2)
	require.Positive(t, outOfFds.Load())
	require.EqualValues(t, rejected, srv.Stats().Rejected)
	for _, c := range cs {
		c.Close()
	}
	unix.Setrlimit(unix.RLIMIT_NOFILE, &saved)
	require.Eventually(t, func() bool { return srv.Clients() == 0 }, 5*time.Second, time.Millisecond)
	roundTrip(t, srv.Addrs()[0], "after")
}
