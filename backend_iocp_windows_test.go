package mux_test

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/windows"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

// The iocp backend's own tests, run on Windows and, in CI, under Wine.
// Sockets are loopback TCP pairs (fdtest.Socketpair): Windows has no
// socketpair(2), and its pipes are no sockets.

func openIOCP(t *testing.T, setsize int, opts ...mux.Option) *mux.Poller {
	t.Helper()
	p, err := mux.Open(setsize, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func tcpPair(t *testing.T) (a, b int) {
	t.Helper()
	a, b, err := fdtest.Socketpair()
	require.NoError(t, err)
	t.Cleanup(func() { fdtest.Close(a); fdtest.Close(b) })
	return a, b
}

func send(t *testing.T, fd int, s string) {
	t.Helper()
	n, err := fdtest.Write(fd, []byte(s))
	require.NoError(t, err)
	require.Equal(t, len(s), n)
}

// drain reads fd until it would block and returns what it read.
func drain(t *testing.T, fd int) int {
	t.Helper()
	buf := make([]byte, 64<<10)
	total := 0
	for range 10000 {
		n, err := fdtest.Read(fd, buf)
		if fdtest.WouldBlock(err) {
			return total
		}
		require.NoError(t, err)
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("drain: still reading after 10000 reads")
	return total
}

// waitFd waits up to d for a report on fd and returns its mask (None if
// none came); reports on other fds fail the test.
func waitFd(t *testing.T, p *mux.Poller, fd int, d time.Duration) event.Mask {
	t.Helper()
	fired := make([]event.Fired, 8)
	deadline := time.Now().Add(d)
	for {
		n, err := p.Wait(fired, time.Until(deadline))
		require.NoError(t, err)
		for _, f := range fired[:n] {
			require.Equal(t, fd, f.Fd, "a report on another socket: %v", f)
			return f.Mask
		}
		if !time.Now().Before(deadline) {
			return event.None
		}
	}
}

// quiet asserts that no Wait reports anything for d.
func quiet(t *testing.T, p *mux.Poller, d time.Duration) {
	t.Helper()
	fired := make([]event.Fired, 8)
	start := time.Now()
	for time.Since(start) < d {
		n, err := p.Wait(fired, d-time.Since(start))
		require.NoError(t, err)
		require.Zero(t, n, "unexpected report: %v", fired[:n])
	}
}

func TestIOCPDefaultAndCaps(t *testing.T) {
	assert.Equal(t, []string{"iocp"}, mux.Backends())
	p := openIOCP(t, 16)
	assert.Equal(t, "iocp", p.Name())
	assert.Equal(t, mux.Caps{Oneshot: true, LevelEmulated: true, Hangup: true, HalfClose: true,
		Error: true, Resolution: time.Millisecond}, p.Caps())
	assert.Equal(t, -1, p.Fd(), "an I/O completion port is not a pollable descriptor")
	_, err := mux.Open(16, mux.WithMode(mux.Edge))
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = mux.Open(16, mux.WithBackend("epoll"))
	assert.ErrorIs(t, err, mux.ErrUnknownBackend)
}

// Readable after the peer writes, at every Wait until the data is read
// (Level is emulated by renewing the request), and not after.
func TestIOCPReadableLevel(t *testing.T) {
	p := openIOCP(t, 16)
	a, b := tcpPair(t)
	require.NoError(t, p.Add(a, event.Readable))
	quiet(t, p, 50*time.Millisecond)
	send(t, b, "ping")
	for i := range 3 {
		assert.Equal(t, event.Readable, waitFd(t, p, a, 2*time.Second), "Wait %d", i)
	}
	assert.Equal(t, 4, drain(t, a))
	quiet(t, p, 50*time.Millisecond)
	send(t, b, "again")
	assert.Equal(t, event.Readable, waitFd(t, p, a, 2*time.Second))
}

// Writable at once, not while the send buffer is full, and again once the
// peer has read it empty.
func TestIOCPWritableAgainAfterDrain(t *testing.T) {
	p := openIOCP(t, 16)
	a, b := tcpPair(t)
	require.NoError(t, windows.SetsockoptInt(windows.Handle(a), windows.SOL_SOCKET, windows.SO_SNDBUF, 16<<10))
	require.NoError(t, windows.SetsockoptInt(windows.Handle(b), windows.SOL_SOCKET, windows.SO_RCVBUF, 16<<10))
	require.NoError(t, p.Add(a, event.Writable))
	assert.Equal(t, event.Writable, waitFd(t, p, a, 2*time.Second))

	fill(t, a)
	quiet(t, p, 100*time.Millisecond)

	// Read everything the peer has, a few times: the sender's buffer
	// flows into the receiver's as the receiver empties it.
	got := event.None
	for range 50 {
		drain(t, b)
		if got = waitFd(t, p, a, 20*time.Millisecond); got != event.None {
			break
		}
	}
	assert.Equal(t, event.Writable, got)
}

// fill writes to fd until its send buffer is full.
func fill(t *testing.T, fd int) {
	t.Helper()
	chunk := make([]byte, 8<<10)
	for range 10000 {
		if _, err := fdtest.Write(fd, chunk); err != nil {
			require.True(t, fdtest.WouldBlock(err), "write: %v", err)
			return
		}
	}
	t.Fatal("the send buffer never filled")
}

// Hangup when the peer closes, and when it only shuts its sending side
// down; the read then returns end of stream.
func TestIOCPHangup(t *testing.T) {
	for _, how := range []string{"close", "shutdown"} {
		t.Run(how, func(t *testing.T) {
			p := openIOCP(t, 16)
			a, b := tcpPair(t)
			require.NoError(t, p.Add(a, event.Readable))
			quiet(t, p, 20*time.Millisecond)
			if how == "close" {
				require.NoError(t, fdtest.Close(b))
			} else {
				require.NoError(t, fdtest.Shutdown(b))
			}
			assert.Equal(t, event.Readable|event.Hangup, waitFd(t, p, a, 2*time.Second))
			n, err := fdtest.Read(a, make([]byte, 8))
			assert.NoError(t, err)
			assert.Zero(t, n, "end of stream")
		})
	}
}

// A Writable-only socket whose peer has shut down is not reported while its
// send buffer is full: its request does not ask for the peer's FIN, which
// would answer it at once, again and again.
func TestIOCPWritableOnlyIgnoresFIN(t *testing.T) {
	p := openIOCP(t, 16)
	a, b := tcpPair(t)
	require.NoError(t, windows.SetsockoptInt(windows.Handle(a), windows.SOL_SOCKET, windows.SO_SNDBUF, 16<<10))
	require.NoError(t, windows.SetsockoptInt(windows.Handle(b), windows.SOL_SOCKET, windows.SO_RCVBUF, 16<<10))
	fill(t, a)
	require.NoError(t, p.Add(a, event.Writable))
	require.NoError(t, fdtest.Shutdown(b))
	before := p.Stats().Waits
	quiet(t, p, 100*time.Millisecond)
	assert.Less(t, p.Stats().Waits-before, uint64(10), "Wait spun on the FIN")
}

// A refused connect reports Readable|Writable with the Error hint.
func TestIOCPRefusedConnect(t *testing.T) {
	l, port, err := fdtest.Listen()
	require.NoError(t, err)
	require.NoError(t, fdtest.Close(l)) // nothing listens on port now
	p := openIOCP(t, 16)
	s, err := fdtest.Connect(port)
	require.NoError(t, err)
	defer fdtest.Close(s)
	require.NoError(t, p.Add(s, event.Readable|event.Writable))
	// Windows retries a refused SYN for about two seconds; Linux (and so
	// Wine) refuses at once.
	m := waitFd(t, p, s, 5*time.Second)
	assert.Equal(t, event.Readable|event.Writable|event.Error, m&^event.Hangup)
}

// A connect that succeeds reports Writable.
func TestIOCPConnectWritable(t *testing.T) {
	l, port, err := fdtest.Listen()
	require.NoError(t, err)
	defer fdtest.Close(l)
	p := openIOCP(t, 16)
	s, err := fdtest.Connect(port)
	require.NoError(t, err)
	defer fdtest.Close(s)
	require.NoError(t, p.Add(s, event.Writable))
	assert.Equal(t, event.Writable, waitFd(t, p, s, 5*time.Second))
}

// A listener is Readable while a connection waits to be accepted.
func TestIOCPListenerReadable(t *testing.T) {
	l, port, err := fdtest.Listen()
	require.NoError(t, err)
	defer fdtest.Close(l)
	p := openIOCP(t, 16)
	require.NoError(t, p.Add(l, event.Readable))
	quiet(t, p, 30*time.Millisecond)
	c, err := fdtest.Connect(port)
	require.NoError(t, err)
	defer fdtest.Close(c)
	assert.Equal(t, event.Readable, waitFd(t, p, l, 2*time.Second))
	s, err := fdtest.Accept(l)
	require.NoError(t, err)
	defer fdtest.Close(s)
	quiet(t, p, 30*time.Millisecond)
}

func TestIOCPWakeFromAnotherGoroutine(t *testing.T) {
	p := openIOCP(t, 16)
	a, _ := tcpPair(t)
	require.NoError(t, p.Add(a, event.Readable))
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(20 * time.Millisecond)
		assert.NoError(t, p.Wake())
	}()
	start := time.Now()
	n, err := p.Wait(make([]event.Fired, 4), 10*time.Second)
	<-done
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Less(t, time.Since(start), 5*time.Second, "Wake did not end the Wait")
	// Wakes before a Wait collapse into one return.
	require.NoError(t, p.Wake())
	require.NoError(t, p.Wake())
	n, err = p.Wait(make([]event.Fired, 4), time.Second)
	require.NoError(t, err)
	assert.Zero(t, n)
	quiet(t, p, 30*time.Millisecond)
}

func TestIOCPCloseDuringWait(t *testing.T) {
	p, err := mux.Open(16)
	require.NoError(t, err)
	a, b := tcpPair(t)
	require.NoError(t, p.Add(a, event.Readable))
	require.NoError(t, p.Add(b, event.Writable|event.Readable))
	closeDuringWait(t, p)
	assert.ErrorIs(t, p.Add(a, event.Readable), mux.ErrClosed)
	// The sockets are untouched: Close does not close registered sockets.
	send(t, b, "x")
	assert.Equal(t, event.Readable, waitFd(t, openIOCPWith(t, a), a, 2*time.Second))
}

func openIOCPWith(t *testing.T, fd int) *mux.Poller {
	p := openIOCP(t, 16)
	require.NoError(t, p.Add(fd, event.Readable))
	return p
}

// No report after Del: neither for a request in flight nor for one that
// Level mode would have renewed.
func TestIOCPNoEventAfterDel(t *testing.T) {
	p := openIOCP(t, 16)
	a, b := tcpPair(t)
	require.NoError(t, p.Add(a, event.Readable))
	quiet(t, p, 20*time.Millisecond) // the request is in flight
	require.NoError(t, p.Del(a, event.Readable))
	send(t, b, "x")
	quiet(t, p, 100*time.Millisecond)

	require.NoError(t, p.Add(a, event.Readable))
	assert.Equal(t, event.Readable, waitFd(t, p, a, 2*time.Second)) // renewed at the next Wait
	require.NoError(t, p.Del(a, event.Readable))
	quiet(t, p, 100*time.Millisecond)
	assert.Zero(t, p.Len())
}

// Widening the interest of a socket whose request is in flight cancels and
// renews the request; narrowing it trims what the old request reports.
func TestIOCPChangeInterestInFlight(t *testing.T) {
	p := openIOCP(t, 16)
	a, b := tcpPair(t)
	require.NoError(t, p.Add(a, event.Readable))
	quiet(t, p, 20*time.Millisecond)
	require.NoError(t, p.Add(a, event.Writable))
	assert.Equal(t, event.Writable, waitFd(t, p, a, 2*time.Second))
	send(t, b, "x")
	assert.Equal(t, event.Readable|event.Writable, waitFd(t, p, a, 2*time.Second))
	require.NoError(t, p.Del(a, event.Writable))
	assert.Equal(t, event.Readable, waitFd(t, p, a, 2*time.Second))
	drain(t, a)
	quiet(t, p, 50*time.Millisecond)
}

// Oneshot is native: a report disarms the socket until the next Add.
func TestIOCPOneshot(t *testing.T) {
	p := openIOCP(t, 16, mux.WithMode(mux.Oneshot))
	a, b := tcpPair(t)
	require.NoError(t, p.Add(a, event.Readable))
	send(t, b, "x")
	assert.Equal(t, event.Readable, waitFd(t, p, a, 2*time.Second))
	quiet(t, p, 50*time.Millisecond) // data remains, but the socket is disarmed
	require.NoError(t, p.Add(a, event.Readable))
	assert.Equal(t, event.Readable, waitFd(t, p, a, 2*time.Second))
}

// More ready sockets than fired holds: later Waits report the rest.
func TestIOCPNoStarvation(t *testing.T) {
	p := openIOCP(t, 64)
	want := map[int]bool{}
	for range 10 {
		a, b := tcpPair(t)
		require.NoError(t, p.Add(a, event.Readable))
		send(t, b, "x")
		want[a] = true
	}
	seen := map[int]bool{}
	fired := make([]event.Fired, 3)
	for range 20 {
		n, err := p.Wait(fired, time.Second)
		require.NoError(t, err)
		require.LessOrEqual(t, n, 3)
		for _, f := range fired[:n] {
			seen[f.Fd] = true
		}
		if len(seen) == len(want) {
			break
		}
	}
	assert.Equal(t, want, seen)
}

func TestIOCPBadInput(t *testing.T) {
	p := openIOCP(t, 16)
	a, _ := tcpPair(t)
	assert.ErrorIs(t, p.Add(-1, event.Readable), mux.ErrRange)
	assert.ErrorIs(t, p.Add(1<<33, event.Readable), mux.ErrRange)
	assert.ErrorIs(t, p.Del(-4, event.Readable), mux.ErrRange)
	assert.ErrorIs(t, p.Add(a, event.Hangup), mux.ErrBadMask)
	assert.ErrorIs(t, p.Add(a, event.Mask(64)), mux.ErrBadMask)
	_, err := mux.Open(0)
	assert.ErrorIs(t, err, mux.ErrRange)

	// Not t.TempDir: its RemoveAll fails under Wine 8 (the POSIX-semantics
	// delete that Go asks for is "Invalid function" there).
	f, err := os.CreateTemp("", "aemux-regular-")
	require.NoError(t, err)
	defer os.Remove(f.Name())
	defer f.Close()
	assert.ErrorIs(t, p.Add(int(f.Fd()), event.Readable), mux.ErrNotPollable, "a regular file")
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	assert.ErrorIs(t, p.Add(int(r.Fd()), event.Readable), mux.ErrNotPollable, "a pipe")

	s, _, err := fdtest.Listen()
	require.NoError(t, err)
	require.NoError(t, fdtest.Close(s))
	assert.ErrorIs(t, p.Add(s, event.Readable), syscall.EBADF, "a closed socket")
	assert.Zero(t, p.Len(), "failed Adds left the table unchanged")
}

// The set size bounds how many sockets are registered at once.
func TestIOCPSetSizeBoundsSockets(t *testing.T) {
	p := openIOCP(t, 2)
	a, b := tcpPair(t)
	c, _ := tcpPair(t)
	require.NoError(t, p.Add(a, event.Readable))
	require.NoError(t, p.Add(b, event.Readable))
	require.NoError(t, p.Add(b, event.Writable), "a registered socket needs no room")
	assert.ErrorIs(t, p.Add(c, event.Readable), mux.ErrRange)
	assert.Equal(t, event.None, p.Mask(c))
	assert.Equal(t, 2, p.Len())
	assert.ErrorIs(t, p.Resize(1), mux.ErrRange)
	assert.Equal(t, 2, p.SetSize())
	require.NoError(t, p.Del(a, event.Readable))
	require.NoError(t, p.Resize(1))
	assert.Equal(t, 1, p.SetSize())
	assert.ErrorIs(t, p.Add(c, event.Readable), mux.ErrRange)
	require.NoError(t, p.Resize(3))
	require.NoError(t, p.Add(c, event.Readable))
	assert.Equal(t, 2, p.Len())
}

// An unchanged mask costs no kernel call.
func TestIOCPRegistrationCalls(t *testing.T) {
	p := openIOCP(t, 16)
	a, _ := tcpPair(t)
	require.NoError(t, p.Add(a, event.Readable))
	before := p.Stats()
	require.NoError(t, p.Add(a, event.Readable))
	assert.Equal(t, before, p.Stats())
	require.NoError(t, p.Add(a, event.Writable))
	assert.Equal(t, before.Modifies+1, p.Stats().Modifies)
}

// settle is how long the scenarios give Wine to get a request in flight or
// to complete it with the close: 20 ms was enough on a quiet machine, not
// with two CPU hogs beside the tests (a CI run saw the close completed
// after the Add that was to find it).
const settle = 200 * time.Millisecond

// reused registers one end of a new pair for Readable in a new Poller,
// lets its request get in flight, closes both ends without Del and connects
// a new pair at once, and calls check with the new socket that took the
// registered number back (x) and its peer (y). Windows hands a closed
// handle's number out again at once, but another handle made meanwhile (a
// thread the runtime starts) can take it first: then it tries again, up to
// five times.
func reused(t *testing.T, check func(p *mux.Poller, x, y int)) {
	t.Helper()
	for try := 1; try <= 5; try++ {
		p := openIOCP(t, 16)
		a, b, err := fdtest.Socketpair()
		require.NoError(t, err)
		require.NoError(t, p.Add(a, event.Readable))
		quiet(t, p, settle)             // the request is in flight
		l, port, err := fdtest.Listen() // made first, so that it takes no freed number
		require.NoError(t, err)
		require.NoError(t, fdtest.Close(a))
		require.NoError(t, fdtest.Close(b))
		x, y, err := fdtest.Pair(l, port)
		fdtest.Close(l)
		require.NoError(t, err)
		t.Cleanup(func() { fdtest.Close(x); fdtest.Close(y) })
		if y == a {
			x, y = y, x
		}
		if x == a {
			check(p, x, y)
			return
		}
		t.Logf("try %d: handle %d was taken by another handle (the new pair is %d, %d)", try, a, x, y)
		require.NoError(t, p.Del(a, event.Readable))
	}
	t.Fatal("no closed handle's number came back in five tries")
}

// A socket closed without Del whose number comes back: once a Wait has
// seen the close (AFD_POLL_LOCAL_CLOSE), an Add that brings a new bit
// registers the new socket with only that bit, as on unix.
func TestIOCPReusedHandle(t *testing.T) {
	reused(t, func(p *mux.Poller, x, y int) {
		quiet(t, p, settle) // the close is seen and not reported
		require.NoError(t, p.Add(x, event.Writable))
		assert.Equal(t, event.Writable, p.Mask(x), "only the new interest")
		assert.Equal(t, event.Writable, waitFd(t, p, x, 2*time.Second))
		send(t, y, "z") // Readable is not asked for any more
		assert.Equal(t, event.Writable, waitFd(t, p, x, 2*time.Second))
	})
}

// The same without a Wait between the close and the new Add: the completed
// request already says that its socket was closed.
func TestIOCPReusedHandleNoWait(t *testing.T) {
	reused(t, func(p *mux.Poller, x, _ int) {
		time.Sleep(settle)
		require.NoError(t, p.Add(x, event.Writable))
		assert.Equal(t, event.Writable, p.Mask(x), "only the new interest")
		assert.Equal(t, event.Writable, waitFd(t, p, x, 2*time.Second))
	})
}

// The same interest again makes no kernel call, so the new socket is not
// watched: Del the number first (the package doc's fd-reuse rule).
func TestIOCPReusedHandleSameMask(t *testing.T) {
	reused(t, func(p *mux.Poller, x, y int) {
		quiet(t, p, settle)
		before := p.Stats()
		require.NoError(t, p.Add(x, event.Readable), "a repeated Add")
		assert.Equal(t, before, p.Stats(), "a repeated Add made a kernel call")
		send(t, y, "z")
		quiet(t, p, 50*time.Millisecond) // the trap: unwatched
		require.NoError(t, p.Del(x, event.Readable), "Del of the closed registration")
		assert.Equal(t, event.None, p.Mask(x))
		require.NoError(t, p.Add(x, event.Readable))
		assert.Equal(t, event.Readable, waitFd(t, p, x, 2*time.Second))
	})
}

func TestIOCPWaitAllocatesNothing(t *testing.T) {
	p := openIOCP(t, 16)
	a, b := tcpPair(t)
	send(t, b, "x")
	require.NoError(t, p.Add(a, event.Readable))
	fired := make([]event.Fired, 16)
	allocs := testing.AllocsPerRun(200, func() {
		if n, err := p.Wait(fired, time.Second); n != 1 || err != nil {
			t.Fatalf("Wait = %d, %v", n, err)
		}
	})
	assert.Zero(t, allocs, "level-triggered Waits renewing a request")
	allocs = testing.AllocsPerRun(100, func() {
		p.Wake()
		p.Wait(fired[:1], 0)
	})
	assert.Zero(t, allocs, "Wake and Wait")
}

// Timed Waits never return early; the overshoot is logged for the reader.
func TestIOCPTimedWait(t *testing.T) {
	timedWaits(t, openIOCP(t, 16), 3*time.Millisecond, 20)
}

// 1,000 Opens and Closes, with a socket registered and a Wait each time,
// leave the number of open handles where it was: a Poller that kept its
// completion port or its AFD handle would add 1,000 or more. (The
// runtime's own handles, one per new thread, are why the count is compared
// loosely. GetProcessHandleCount would be simpler, but Wine answers 0.)
func TestIOCPOpenCloseLeaksNothing(t *testing.T) {
	a, b := tcpPair(t)
	send(t, b, "x")
	fired := make([]event.Fired, 4)
	cycle := func() {
		p, err := mux.Open(16)
		require.NoError(t, err)
		require.NoError(t, p.Add(a, event.Readable))
		n, err := p.Wait(fired, time.Second)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.NoError(t, p.Close())
	}
	cycle()
	before := len(fdtest.OpenFds())
	for range 1000 {
		cycle()
	}
	after := len(fdtest.OpenFds())
	t.Logf("handles: %d before, %d after 1,000 Open/Close", before, after)
	assert.Less(t, after-before, 100, "handles leaked")
}
