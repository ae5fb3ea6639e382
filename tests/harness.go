package tests

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

// The harness both suites work with: what a subtest opened (Pollers,
// loops, fds) is tracked and released when the subtest ends, and a
// watchdog ends a subtest that hangs.

const (
	// subtestLimit is how long one subtest may run before its watchdog
	// fails it.
	subtestLimit = 10 * time.Second
	// rescueEvery is how often the watchdog repeats its rescue once the
	// limit has passed.
	rescueEvery = 50 * time.Millisecond
	// pollerSetSize is the set size of the Poller each RunPoller subtest
	// starts with; loopSetSize that of RunLoop's loop.
	pollerSetSize = 4096
	loopSetSize   = 1024
	// idleWait is how long a Wait that must report nothing waits.
	idleWait = 20 * time.Millisecond
	// soon bounds a Wait for an event that is already on its way
	// (loopback traffic, a wake-up): far above the microseconds it takes.
	soon = 2 * time.Second
	// maxBytes bounds every fill and drain loop.
	maxBytes = 64 << 20
)

// PollerOpener makes a Poller for RunPoller: a set size and options, as
// mux.Open takes them. The suite passes options of its own (mux.WithMode
// for the Edge and Oneshot scenarios), so a constructor that adds options
// of its own, such as mux.WithBackend, appends the suite's after them.
type PollerOpener = func(setsize int, opts ...mux.Option) (*mux.Poller, error)

// LoopCreator makes a loop for RunLoop: a set size and options, as
// aeloop.CreateLoop takes them.
type LoopCreator = func(setsize int, opts ...mux.Option) (*aeloop.Loop, error)

// harness is what one subtest of either suite works with: the constructor
// it was given, the Poller RunPoller starts it with, and every Poller,
// loop and fd it made, released when the subtest ends.
// Pollers and loops are tracked so that the watchdog can end a stuck Wait;
// fds so that the cleanup closes only fds the subtest still owns: a number
// it closed itself may belong to someone else by then.
type harness struct {
	t      *testing.T
	openFn PollerOpener // RunPoller's constructor, or nil
	loopFn LoopCreator  // RunLoop's constructor, or nil
	p      *mux.Poller  // RunPoller: opened by openFn with pollerSetSize

	mu      sync.Mutex
	pollers []*mux.Poller
	loops   []*aeloop.Loop
	fds     map[int]bool // fds the subtest owns and has not closed
}

// runSubtest runs fn as the subtest name of t on a fresh harness, under a
// watchdog.
func runSubtest(t *testing.T, name string, open PollerOpener, create LoopCreator, fn func(t *testing.T, h *harness)) {
	t.Run(name, func(t *testing.T) {
		if why := platformSkips[name]; why != "" {
			t.Skip(why)
		}
		h := newHarness(t, open, create)
		stop := watchdog(t, subtestLimit, rescueEvery, h.rescue)
		defer stop()
		fn(t, h)
	})
}

// newHarness returns a harness for t, released when t ends.
func newHarness(t *testing.T, open PollerOpener, create LoopCreator) *harness {
	h := &harness{t: t, openFn: open, loopFn: create, fds: map[int]bool{}}
	t.Cleanup(h.release)
	return h
}

// release closes every loop and Poller, then every fd still owned.
func (h *harness) release() {
	h.mu.Lock()
	pollers, loops, fds := h.pollers, h.loops, h.fds
	h.pollers, h.loops, h.fds = nil, nil, map[int]bool{}
	h.mu.Unlock()
	for _, l := range loops {
		if err := l.Close(); err != nil && !errors.Is(err, mux.ErrClosed) {
			h.t.Errorf("Close of a %s loop: %v", l.ApiName(), err)
		}
	}
	for _, p := range pollers {
		if err := p.Close(); err != nil && !errors.Is(err, mux.ErrClosed) {
			h.t.Errorf("Close of a %s Poller: %v", p.Name(), err)
		}
	}
	for fd := range fds {
		fdtest.Close(fd)
	}
}

// rescue is the watchdog's way to end a stuck subtest: it closes every
// Poller (which ends a Wait blocked in the kernel) and stops and wakes
// every loop (Stop, then an empty Post), so that a subtest blocked in one
// poll after another still gets to its end and reports.
func (h *harness) rescue() {
	h.mu.Lock()
	pollers, loops := slices.Clone(h.pollers), slices.Clone(h.loops)
	h.mu.Unlock()
	for _, p := range pollers {
		_ = p.Close()
	}
	for _, l := range loops {
		l.Stop()
		_ = l.Post(func(*aeloop.Loop) {})
	}
}

// open opens a Poller with the constructor RunPoller was given, or fails
// the subtest.
func (h *harness) open(setsize int, opts ...mux.Option) *mux.Poller {
	h.t.Helper()
	p, err := h.tryOpen(setsize, opts...)
	require.NoError(h.t, err, "open(%d)", setsize)
	return p
}

// tryOpen opens a Poller with the constructor RunPoller was given and
// returns its error; a Poller it opens is closed when the subtest ends.
func (h *harness) tryOpen(setsize int, opts ...mux.Option) (*mux.Poller, error) {
	h.t.Helper()
	p, err := h.openFn(setsize, opts...)
	if err != nil {
		return nil, err
	}
	require.NotNil(h.t, p, "open(%d) returned neither a Poller nor an error", setsize)
	h.mu.Lock()
	h.pollers = append(h.pollers, p)
	h.mu.Unlock()
	return p, nil
}

// newLoop makes a loop with the constructor RunLoop was given, or fails
// the subtest. The loop is closed when the subtest ends (a loop the
// subtest closed itself is fine).
func (h *harness) newLoop(setsize int, opts ...mux.Option) *aeloop.Loop {
	h.t.Helper()
	l, err := h.loopFn(setsize, opts...)
	require.NoError(h.t, err, "create(%d)", setsize)
	require.NotNil(h.t, l, "create(%d) returned neither a loop nor an error", setsize)
	h.mu.Lock()
	h.loops = append(h.loops, l)
	h.mu.Unlock()
	return l
}

// watchdog fails t if it still runs after limit, then calls rescue (and
// again every again) to unblock it. If the subtest is still running
// limit/2 later (a spin, or a rescue that does not work), it panics, so
// that the test binary prints every goroutine instead of hanging until go
// test's own timeout. Call the returned function when the subtest ends.
func watchdog(t *testing.T, limit, again time.Duration, rescue func()) (stop func()) {
	var mu sync.Mutex
	finished := false
	quit := make(chan struct{})
	go func() {
		tm := time.NewTimer(limit)
		defer tm.Stop()
		select {
		case <-quit:
			return
		case <-tm.C:
		}
		mu.Lock()
		if !finished {
			t.Errorf("watchdog: %s still running after %v; ending its waits", t.Name(), limit)
		}
		mu.Unlock()
		hard := time.After(limit / 2)
		tk := time.NewTicker(again)
		defer tk.Stop()
		for {
			rescue()
			select {
			case <-quit:
				return
			case <-tk.C:
			case <-hard:
				panic(fmt.Sprintf("watchdog: %s hung for %v, even after its rescue", t.Name(), limit+limit/2))
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			finished = true
			mu.Unlock()
			close(quit)
		})
	}
}

// own records fds as the subtest's, to be closed when it ends.
func (h *harness) own(fds ...int) {
	h.mu.Lock()
	for _, fd := range fds {
		h.fds[fd] = true
	}
	h.mu.Unlock()
}

// close closes an fd the subtest owns, now.
func (h *harness) close(fd int) {
	h.t.Helper()
	h.mu.Lock()
	owned := h.fds[fd]
	delete(h.fds, fd)
	h.mu.Unlock()
	require.True(h.t, owned, "closing fd %d, which the subtest does not own", fd)
	require.NoError(h.t, fdtest.Close(fd), "close(%d)", fd)
}

// socketpair returns a connected AF_UNIX stream socketpair, non-blocking
// and close-on-exec (on Windows a loopback TCP connection).
func (h *harness) socketpair() (a, b int) {
	h.t.Helper()
	a, b, err := fdtest.Socketpair()
	require.NoError(h.t, err)
	h.own(a, b)
	return a, b
}

// socketpairAt returns a socketpair whose end a has the number num, a
// number just closed: it makes socketpairs (up to 64) until the kernel
// hands num out again, and closes the others.
func (h *harness) socketpairAt(num int) (a, b int) {
	h.t.Helper()
	a, b = -1, -1
	var spare []int
	for try := 0; try < 64 && a < 0; try++ {
		x, y := h.socketpair()
		switch num {
		case x:
			a, b = x, y
		case y:
			a, b = y, x
		default:
			spare = append(spare, x, y)
		}
	}
	for _, fd := range spare {
		h.close(fd)
	}
	if a < 0 && !numberReuseSure {
		h.t.Skipf("handle %d did not come back in 64 socketpairs: another handle took it (the mux package's TestIOCPReusedHandle tests retry whole scenarios)", num)
	}
	require.GreaterOrEqual(h.t, a, 0, "fd number %d did not come back in 64 socketpairs", num)
	return a, b
}

// pipe returns a pipe's read and write ends, non-blocking and close-on-exec
// (on Windows, where pipes cannot be polled, a loopback TCP connection).
func (h *harness) pipe() (r, w int) {
	h.t.Helper()
	r, w, err := fdtest.Pipe()
	require.NoError(h.t, err)
	h.own(r, w)
	return r, w
}

// readyBoth returns a socket that is readable (one byte pending) and
// writable.
func (h *harness) readyBoth() int {
	h.t.Helper()
	a, b := h.socketpair()
	h.write(b, "x")
	return a
}

// socket returns a new non-blocking, close-on-exec socket.
func (h *harness) socket(domain, typ int) int {
	h.t.Helper()
	fd, err := fdtest.Socket(domain, typ)
	require.NoError(h.t, err)
	h.own(fd)
	return fd
}

// loopback is 127.0.0.1 with port 0: the kernel picks the port.
func loopback() *inet4 {
	return &inet4{Addr: [4]byte{127, 0, 0, 1}}
}

// bound returns a socket of type typ bound to 127.0.0.1 on a port the
// kernel chose, and that address.
func (h *harness) bound(typ int) (int, *inet4) {
	h.t.Helper()
	fd := h.socket(afInet, typ)
	require.NoError(h.t, sysBind(fd, loopback()), "bind 127.0.0.1:0")
	sa, err := sysGetsockname(fd)
	require.NoError(h.t, err, "getsockname")
	require.NotNil(h.t, sa, "getsockname returned no IPv4 address")
	return fd, sa
}

// listener returns a TCP socket listening on 127.0.0.1 and its address.
func (h *harness) listener() (int, *inet4) {
	h.t.Helper()
	fd, sa := h.bound(sockStream)
	require.NoError(h.t, sysListen(fd, 16), "listen")
	return fd, sa
}

// dial starts a non-blocking TCP connect to sa and returns the socket and
// connect's answer (nil or EINPROGRESS, usually).
func (h *harness) dial(sa *inet4) (int, error) {
	h.t.Helper()
	fd := h.socket(afInet, sockStream)
	return fd, sysConnect(fd, sa)
}

// accept accepts one pending connection from listener l, waiting up to
// soon for it, and returns it non-blocking and close-on-exec.
func (h *harness) accept(l int) int {
	h.t.Helper()
	deadline := time.Now().Add(soon)
	for {
		fd, err := fdtest.Accept(l)
		if err == nil {
			h.own(fd)
			return fd
		}
		if !fdtest.WouldBlock(err) && err != syscall.EINTR && err != errConnAborted {
			require.NoError(h.t, err, "accept")
		}
		require.False(h.t, time.Now().After(deadline), "accept: no connection arrived within %v", soon)
		pollOne(l, event.Readable, 10*time.Millisecond)
	}
}

// tcpPair returns the two ends of a TCP connection over 127.0.0.1: the
// connecting side and the accepted side, both non-blocking.
func (h *harness) tcpPair() (client, server int) {
	h.t.Helper()
	l, sa := h.listener()
	c, err := h.dial(sa)
	if err != errInProgress {
		require.NoError(h.t, err, "connect to %v", sa)
	}
	s := h.accept(l)
	require.True(h.t, pollOne(c, event.Writable, soon), "connect to 127.0.0.1:%d did not complete within %v", sa.Port, soon)
	e, err := soError(c)
	require.NoError(h.t, err, "getsockopt(SO_ERROR)")
	require.NoError(h.t, e, "connect to 127.0.0.1:%d: SO_ERROR", sa.Port)
	h.close(l)
	return c, s
}

// moveAbove moves fd to the lowest free number at or above min: it dups
// it there and closes the original. The new fd is close-on-exec.
func (h *harness) moveAbove(fd, min int) int {
	h.t.Helper()
	nfd, err := dupAbove(fd, min)
	require.NoError(h.t, err, "dup fd %d to %d or above", fd, min)
	h.own(nfd)
	h.close(fd)
	return nfd
}

// write writes s to fd in full or fails the subtest.
func (h *harness) write(fd int, s string) {
	h.t.Helper()
	n, err := fdtest.Write(fd, []byte(s))
	require.NoError(h.t, err, "write %d bytes to fd %d", len(s), fd)
	require.Equal(h.t, len(s), n, "write %d bytes to fd %d", len(s), fd)
}

// fill writes to fd until the kernel answers EAGAIN and returns how many
// bytes it wrote.
func (h *harness) fill(fd int) int {
	h.t.Helper()
	buf := make([]byte, 64<<10)
	total := 0
	for total < maxBytes {
		n, err := fdtest.Write(fd, buf)
		if fdtest.WouldBlock(err) {
			return total
		}
		if err == syscall.EINTR {
			continue
		}
		require.NoError(h.t, err, "write to fd %d", fd)
		total += n
	}
	require.FailNowf(h.t, "no EAGAIN", "fd %d took %d bytes without EAGAIN", fd, total)
	return total
}

// drain reads fd until it would block, hits end of file or fails, and
// returns how many bytes it read and the error that stopped it (EAGAIN,
// nil for end of file, or another).
func drain(fd int) (int, error) {
	var buf [16 << 10]byte
	total := 0
	for total < maxBytes {
		n, err := fdtest.Read(fd, buf[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, nil
		}
		total += n
	}
	return total, fmt.Errorf("more than %d bytes to read", maxBytes)
}

// tempDir returns a new directory, removed with what it holds (files
// only) when the subtest ends. Not t.TempDir: its RemoveAll fails under
// Wine 8, which lacks the POSIX-semantics delete Go asks for on Windows.
func (h *harness) tempDir() string {
	h.t.Helper()
	dir, err := os.MkdirTemp("", "aemux-tests-")
	require.NoError(h.t, err)
	h.t.Cleanup(func() {
		names, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, name := range names {
			assert.NoError(h.t, os.Remove(name))
		}
		assert.NoError(h.t, os.Remove(dir))
	})
	return dir
}

// afterFunc calls fn in a new goroutine after d, unless the subtest ended
// first.
func (h *harness) afterFunc(d time.Duration, fn func()) {
	tm := time.AfterFunc(d, fn)
	h.t.Cleanup(func() { tm.Stop() })
}
