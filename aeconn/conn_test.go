package aeconn_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aemux/mux/aeconn"
	"github.com/aemux/mux/aeloop"
)

// Every test of the package must leave no goroutine behind.
func TestMain(m *testing.M) { runChild(); goleak.VerifyTestMain(m) }

// echoLines answers each line with itself.
func echoLines[T any](c *aeconn.Conn[T], in []byte) int {
	used := 0
	for !c.Closing() {
		i := bytes.IndexByte(in[used:], '\n')
		if i < 0 {
			break
		}
		c.Write(in[used : used+i+1])
		used += i + 1
	}
	return used
}

// serve starts srv and closes it when the test ends.
func serve[T any](t testing.TB, srv *aeconn.Server[T]) {
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		require.NoError(t, <-done)
	})
}

func tcpListen() []aeconn.Listen {
	return []aeconn.Listen{{Network: "tcp", Addr: "127.0.0.1:0"}}
}

func roundTrip(t testing.TB, addr, line string) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	_, err = io.WriteString(c, line+"\n")
	require.NoError(t, err)
	got, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, line+"\n", got)
}

func TestNewErrors(t *testing.T) {
	_, err := aeconn.New(aeconn.Config{}, aeconn.Handler[int]{})
	require.ErrorIs(t, err, aeloop.ErrNilFunc, "a Handler without OnData")
	_, err = aeconn.New(aeconn.Config{Listen: []aeconn.Listen{{Network: "sctp", Addr: "127.0.0.1:0"}}},
		aeconn.Handler[int]{OnData: echoLines[int]})
	require.ErrorIs(t, err, aeconn.ErrNetwork)
	_, err = aeconn.New(aeconn.Config{Listen: []aeconn.Listen{{Network: "tcp", Addr: "no such host:1"}}},
		aeconn.Handler[int]{OnData: echoLines[int]})
	require.Error(t, err)
	srv, err := aeconn.New(aeconn.Config{}, aeconn.Handler[int]{OnData: echoLines[int]})
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	require.ErrorIs(t, srv.Close(), aeconn.ErrClosed)
	require.ErrorIs(t, srv.Serve(), aeconn.ErrClosed)
}

// Several loops share the conns: with SO_REUSEPORT each has its listener,
// elsewhere the first hands them out in turn; either way every conn is
// served, and with the hand-off every loop gets some.
func TestManyLoops(t *testing.T) {
	const loops, conns = 3, 60
	var perLoop [loops]atomic.Int64
	srv, err := aeconn.New(aeconn.Config{Listen: tcpListen(), Loops: loops}, aeconn.Handler[int]{
		OnOpen: func(c *aeconn.Conn[int]) { perLoop[c.Loop().Index()].Add(1) },
		OnData: echoLines[int],
	})
	require.NoError(t, err)
	serve(t, srv)
	for i := range conns {
		roundTrip(t, srv.Addrs()[0], strings.Repeat("x", i+1))
	}
	total := int64(0)
	for i := range loops {
		n := perLoop[i].Load()
		t.Logf("loop %d: %d conns", i, n)
		total += n
	}
	require.EqualValues(t, conns, total)
	if !reusePortSpreads {
		for i := range loops {
			require.EqualValues(t, conns/loops, perLoop[i].Load(), "the hand-off is round robin")
		}
	}
}

// Unix sockets, where the OS has them with anet.
func TestUnixListener(t *testing.T) {
	if !unixSockets {
		t.Skip("anet has no Unix sockets on this OS")
	}
	path := t.TempDir() + "/s"
	srv, err := aeconn.New(aeconn.Config{Listen: []aeconn.Listen{{Network: "unix", Addr: path}}, Loops: 2},
		aeconn.Handler[int]{OnData: echoLines[int]})
	require.NoError(t, err)
	serve(t, srv)
	for i := range 4 {
		c, err := net.Dial("unix", path)
		require.NoError(t, err)
		c.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, "hi\n")
		got, err := bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err, "conn %d", i)
		require.Equal(t, "hi\n", got)
		c.Close()
	}
}

// A Server with no listeners is a client: Server.Dial from another
// goroutine, Data set at the dial, replies through OnData.
func TestDialData(t *testing.T) {
	srv, err := aeconn.New(aeconn.Config{Listen: tcpListen()}, aeconn.Handler[int]{OnData: echoLines[int]})
	require.NoError(t, err)
	serve(t, srv)
	type st struct {
		id  int
		got []byte
	}
	done := make(chan st, 4)
	cl, err := aeconn.New(aeconn.Config{}, aeconn.Handler[*st]{
		OnOpen: func(c *aeconn.Conn[*st]) { c.WriteString("hello\n") },
		OnData: func(c *aeconn.Conn[*st], in []byte) int {
			c.Data.got = append(c.Data.got, in...)
			if bytes.HasSuffix(c.Data.got, []byte("\n")) {
				c.Close()
			}
			return len(in)
		},
		OnClose: func(c *aeconn.Conn[*st], err error) {
			if err == nil {
				done <- *c.Data
			}
		},
	})
	require.NoError(t, err)
	serve(t, cl)
	for i := range 3 {
		require.NoError(t, cl.Dial("tcp", srv.Addrs()[0], time.Second, &st{id: i}))
	}
	seen := map[int]bool{}
	for range 3 {
		select {
		case s := <-done:
			require.Equal(t, "hello\n", string(s.got))
			seen[s.id] = true
		case <-time.After(5 * time.Second):
			t.Fatal("a dial did not finish")
		}
	}
	require.Len(t, seen, 3)
	require.ErrorIs(t, cl.Loops()[0].Post(nil), aeloop.ErrNilFunc)
}

// An IPv6-only listener ("tcp6") on ::1, where the machine has IPv6.
func TestTCP6(t *testing.T) {
	probe, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	probe.Close()
	srv, err := aeconn.New(aeconn.Config{Listen: []aeconn.Listen{{Network: "tcp6", Addr: "[::1]:0"}, {Network: "tcp", Addr: "127.0.0.1:0"}}},
		aeconn.Handler[int]{OnData: echoLines[int]})
	require.NoError(t, err)
	serve(t, srv)
	addrs := srv.Addrs()
	require.Len(t, addrs, 2)
	require.True(t, strings.HasPrefix(addrs[0], "[::1]:"), addrs[0])
	roundTrip(t, addrs[0], "six")
	roundTrip(t, addrs[1], "four")
}

// BeforeSleep runs once per iteration after the reads, and what it writes
// goes out in the same pass: here OnData only counts the lines of a
// conn, and BeforeSleep answers each conn with the count, so a client
// that sends three lines in one write gets "3", at once, with no other
// event or timer to wake the loop.
func TestBeforeSleep(t *testing.T) {
	var pending []*aeconn.Conn[int]
	var calls atomic.Int64
	srv, err := aeconn.New(aeconn.Config{Listen: tcpListen(), CronInterval: time.Hour}, aeconn.Handler[int]{
		OnData: func(c *aeconn.Conn[int], in []byte) int {
			if c.Data == 0 {
				pending = append(pending, c)
			}
			c.Data += bytes.Count(in, []byte("\n"))
			return len(in)
		},
		BeforeSleep: func(lp *aeconn.Loop[int]) {
			calls.Add(1)
			for _, c := range pending {
				c.WriteString(strconv.Itoa(c.Data) + "\n")
				c.Data = 0
			}
			pending = pending[:0]
		},
	})
	require.NoError(t, err)
	serve(t, srv)
	c, err := net.DialTimeout("tcp", srv.Addrs()[0], 2*time.Second)
	require.NoError(t, err)
	defer c.Close()
	r := bufio.NewReader(c)
	for _, lines := range []string{"a\nb\nc\n", "d\n"} {
		require.NoError(t, c.SetDeadline(time.Now().Add(time.Second)))
		_, err = io.WriteString(c, lines)
		require.NoError(t, err)
		got, err := r.ReadString('\n')
		require.NoError(t, err, "the reply written in BeforeSleep must go out in the same pass")
		require.Equal(t, strconv.Itoa(strings.Count(lines, "\n"))+"\n", got)
	}
	require.Positive(t, calls.Load())
}
