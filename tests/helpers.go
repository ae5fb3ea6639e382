package tests

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

// The helpers of RunPoller. Their names start with "pt" (poller test) or
// are methods of ptHarness, so that they cannot clash with RunLoop's.

const (
	// ptLimit is how long one RunPoller subtest may run before its
	// watchdog fails it.
	ptLimit = 10 * time.Second
	// ptSetSize is the set size of the Poller each subtest starts with.
	ptSetSize = 4096
	// ptIdle is how long a Wait that must report nothing waits.
	ptIdle = 20 * time.Millisecond
	// ptSoon bounds a Wait for an event that is already on its way
	// (loopback traffic, a wake-up): far above the microseconds it takes.
	ptSoon = 2 * time.Second
	// ptMaxBytes bounds every fill and drain loop.
	ptMaxBytes = 64 << 20
)

// ptHarness is what one RunPoller subtest works with: a fresh Poller, a
// way to open more, and the fds it made, all released when the subtest
// ends. Pollers and fds are tracked so that the watchdog can close the
// Pollers (which unblocks a stuck Wait) and so that the cleanup closes only
// fds the subtest still owns: a number it closed itself may belong to
// someone else by then.
type ptHarness struct {
	t      *testing.T
	openFn func(setsize int) (*mux.Poller, error)
	p      *mux.Poller // opened by openFn with ptSetSize

	mu      sync.Mutex
	pollers []*mux.Poller
	fds     map[int]bool // fds the subtest owns and has not closed
}

// ptNewHarness opens the subtest's Poller and arranges the cleanup.
func ptNewHarness(t *testing.T, open func(setsize int) (*mux.Poller, error)) *ptHarness {
	t.Helper()
	h := &ptHarness{t: t, openFn: open, fds: map[int]bool{}}
	t.Cleanup(h.release)
	h.p = h.open(ptSetSize)
	return h
}

// release closes every Poller, then every fd still owned.
func (h *ptHarness) release() {
	h.mu.Lock()
	pollers := h.pollers
	h.pollers = nil
	fds := h.fds
	h.fds = map[int]bool{}
	h.mu.Unlock()
	for _, p := range pollers {
		if err := p.Close(); err != nil && !errors.Is(err, mux.ErrClosed) {
			h.t.Errorf("Close of a %s Poller: %v", p.Name(), err)
		}
	}
	for fd := range fds {
		unix.Close(fd)
	}
}

// open opens a Poller with the constructor RunPoller was given.
func (h *ptHarness) open(setsize int) *mux.Poller {
	h.t.Helper()
	p, err := h.openFn(setsize)
	if err != nil {
		h.t.Fatalf("open(%d): %v", setsize, err)
	}
	if p == nil {
		h.t.Fatalf("open(%d) returned neither a Poller nor an error", setsize)
	}
	h.track(p)
	return p
}

// openMode opens a Poller of the same backend as h.p in mode m.
func (h *ptHarness) openMode(setsize int, m mux.Mode) (*mux.Poller, error) {
	p, err := mux.Open(setsize, mux.WithBackend(h.p.Name()), mux.WithMode(m))
	if err == nil {
		h.track(p)
	}
	return p, err
}

func (h *ptHarness) track(p *mux.Poller) {
	h.mu.Lock()
	h.pollers = append(h.pollers, p)
	h.mu.Unlock()
}

// closeAll closes every Poller; the watchdog's way to end a stuck Wait.
func (h *ptHarness) closeAll() {
	h.mu.Lock()
	pollers := slices.Clone(h.pollers)
	h.mu.Unlock()
	for _, p := range pollers {
		_ = p.Close()
	}
}

// ptWatchdog is the watchdog of a RunPoller subtest: past limit it closes
// the subtest's Pollers, so that a Wait stuck in the kernel returns.
func ptWatchdog(t *testing.T, h *ptHarness, limit time.Duration) (stop func()) {
	return watchdog(t, limit, 0, "; closing its Pollers", h.closeAll)
}

// watchdog fails t if it still runs after limit, then calls rescue (and
// again every again, if again > 0) to unblock it. If the subtest is still
// running limit/2 later (a spin, or a rescue that does not work), it
// panics, so that the test binary prints every goroutine instead of hanging
// until go test's own timeout. Call the returned function when the subtest
// ends.
func watchdog(t *testing.T, limit, again time.Duration, what string, rescue func()) (stop func()) {
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
			t.Errorf("watchdog: %s still running after %v%s", t.Name(), limit, what)
		}
		mu.Unlock()
		hard := time.After(limit / 2)
		var tick <-chan time.Time
		if again > 0 {
			tk := time.NewTicker(again)
			defer tk.Stop()
			tick = tk.C
		}
		for {
			rescue()
			select {
			case <-quit:
				return
			case <-tick:
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
func (h *ptHarness) own(fds ...int) {
	h.mu.Lock()
	for _, fd := range fds {
		h.fds[fd] = true
	}
	h.mu.Unlock()
}

// close closes an fd the subtest owns, now.
func (h *ptHarness) close(fd int) {
	h.t.Helper()
	h.mu.Lock()
	owned := h.fds[fd]
	delete(h.fds, fd)
	h.mu.Unlock()
	if !owned {
		h.t.Fatalf("closing fd %d, which the subtest does not own", fd)
	}
	if err := unix.Close(fd); err != nil {
		h.t.Fatalf("close(%d): %v", fd, err)
	}
}

// ptCloexecNonblock makes fds close-on-exec and non-blocking. Callers hold
// syscall.ForkLock (read) from the fds' creation to here, as package os
// does, so that no concurrent fork and exec inherits them.
func ptCloexecNonblock(fds ...int) error {
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			return fmt.Errorf("set non-blocking fd %d: %w", fd, err)
		}
	}
	return nil
}

// socketpair returns a connected AF_UNIX stream socketpair, non-blocking
// and close-on-exec.
func (h *ptHarness) socketpair() (a, b int) {
	h.t.Helper()
	syscall.ForkLock.RLock()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err == nil {
		h.own(fds[0], fds[1])
		err = ptCloexecNonblock(fds[0], fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		h.t.Fatalf("socketpair: %v", err)
	}
	return fds[0], fds[1]
}

// pipe returns a pipe's read and write ends, non-blocking and close-on-exec.
func (h *ptHarness) pipe() (r, w int) {
	h.t.Helper()
	var p [2]int
	syscall.ForkLock.RLock()
	err := unix.Pipe(p[:])
	if err == nil {
		h.own(p[0], p[1])
		err = ptCloexecNonblock(p[0], p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		h.t.Fatalf("pipe: %v", err)
	}
	return p[0], p[1]
}

// socket returns a new non-blocking, close-on-exec socket.
func (h *ptHarness) socket(domain, typ int) int {
	h.t.Helper()
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(domain, typ, 0)
	if err == nil {
		h.own(fd)
		err = ptCloexecNonblock(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		h.t.Fatalf("socket: %v", err)
	}
	return fd
}

// ptLoopback is 127.0.0.1 with port 0: the kernel picks the port.
func ptLoopback() *unix.SockaddrInet4 {
	return &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
}

// bound returns a socket of type typ bound to 127.0.0.1 on a port the
// kernel chose, and that address.
func (h *ptHarness) bound(typ int) (int, *unix.SockaddrInet4) {
	h.t.Helper()
	fd := h.socket(unix.AF_INET, typ)
	if err := unix.Bind(fd, ptLoopback()); err != nil {
		h.t.Fatalf("bind 127.0.0.1:0: %v", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		h.t.Fatalf("getsockname: %v", err)
	}
	in4, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		h.t.Fatalf("getsockname returned %T", sa)
	}
	return fd, in4
}

// listener returns a TCP socket listening on 127.0.0.1 and its address.
func (h *ptHarness) listener() (int, *unix.SockaddrInet4) {
	h.t.Helper()
	fd, sa := h.bound(unix.SOCK_STREAM)
	if err := unix.Listen(fd, 16); err != nil {
		h.t.Fatalf("listen: %v", err)
	}
	return fd, sa
}

// dial starts a non-blocking TCP connect to sa and returns the socket and
// connect's answer (nil or EINPROGRESS, usually).
func (h *ptHarness) dial(sa *unix.SockaddrInet4) (int, error) {
	h.t.Helper()
	fd := h.socket(unix.AF_INET, unix.SOCK_STREAM)
	return fd, unix.Connect(fd, sa)
}

// accept accepts one pending connection from listener l, waiting up to
// ptSoon for it, and returns it non-blocking and close-on-exec.
func (h *ptHarness) accept(l int) int {
	h.t.Helper()
	deadline := time.Now().Add(ptSoon)
	for {
		syscall.ForkLock.RLock()
		fd, _, err := unix.Accept(l)
		if err == nil {
			h.own(fd)
			err = ptCloexecNonblock(fd)
			syscall.ForkLock.RUnlock()
			if err != nil {
				h.t.Fatalf("accept: %v", err)
			}
			return fd
		}
		syscall.ForkLock.RUnlock()
		if err != unix.EAGAIN && err != unix.EINTR && err != unix.ECONNABORTED {
			h.t.Fatalf("accept: %v", err)
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("accept: no connection arrived within %v", ptSoon)
		}
		ptPollOne(l, unix.POLLIN, 10*time.Millisecond)
	}
}

// tcpPair returns the two ends of a TCP connection over 127.0.0.1: the
// connecting side and the accepted side, both non-blocking.
func (h *ptHarness) tcpPair() (client, server int) {
	h.t.Helper()
	l, sa := h.listener()
	c, err := h.dial(sa)
	if err != nil && err != unix.EINPROGRESS {
		h.t.Fatalf("connect to %v: %v", sa, err)
	}
	s := h.accept(l)
	if !ptPollOne(c, unix.POLLOUT, ptSoon) {
		h.t.Fatalf("connect to 127.0.0.1:%d did not complete within %v", sa.Port, ptSoon)
	}
	if e, err := unix.GetsockoptInt(c, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || e != 0 {
		h.t.Fatalf("connect to 127.0.0.1:%d: SO_ERROR %v, %v", sa.Port, unix.Errno(e), err)
	}
	h.close(l)
	return c, s
}

// ptPollOne waits with poll(2) itself, independently of the Poller under
// test, until fd has one of the events or timeout passes.
func ptPollOne(fd int, events int16, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
		ms := int(time.Until(deadline)/time.Millisecond) + 1
		n, err := unix.Poll(pfd, ms)
		if n > 0 {
			return true
		}
		if (err != nil && err != unix.EINTR) || time.Now().After(deadline) {
			return false
		}
	}
}

// moveAbove moves fd to the lowest free number at or above min: it dups
// it there and closes the original. The new fd is close-on-exec.
func (h *ptHarness) moveAbove(fd, min int) int {
	h.t.Helper()
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, min)
	if err != nil {
		h.t.Fatalf("fcntl(F_DUPFD_CLOEXEC, %d): %v", min, err)
	}
	h.own(nfd)
	h.close(fd)
	return nfd
}

// write writes s to fd in full or fails the subtest.
func (h *ptHarness) write(fd int, s string) {
	h.t.Helper()
	n, err := unix.Write(fd, []byte(s))
	if err != nil || n != len(s) {
		h.t.Fatalf("write %d bytes to fd %d: wrote %d, %v", len(s), fd, n, err)
	}
}

// ptDrain reads fd until it would block, hits end of file or fails, and
// returns how many bytes it read and the error that stopped it (EAGAIN,
// nil for end of file, or another).
func ptDrain(fd int) (int, error) {
	var buf [16 << 10]byte
	total := 0
	for total < ptMaxBytes {
		n, err := unix.Read(fd, buf[:])
		if err == unix.EINTR {
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
	return total, fmt.Errorf("more than %d bytes to read", ptMaxBytes)
}

// fill writes to fd until the kernel answers EAGAIN and returns how many
// bytes it wrote.
func (h *ptHarness) fill(fd int) int {
	h.t.Helper()
	buf := make([]byte, 64<<10)
	total := 0
	for total < ptMaxBytes {
		n, err := unix.Write(fd, buf)
		if err == unix.EAGAIN {
			return total
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			h.t.Fatalf("write to fd %d: %v", fd, err)
		}
		total += n
	}
	h.t.Fatalf("fd %d took %d bytes without EAGAIN", fd, total)
	return total
}

// check verifies what every Wait must give, whatever the scenario: n
// within fired, at most one entry per fd, only registered fds, only
// registered Readable/Writable bits (at least one of them) plus the
// Hangup and Error hints, no unknown bit.
func (h *ptHarness) check(p *mux.Poller, fired []event.Fired, n int) {
	h.t.Helper()
	if n < 0 || n > len(fired) {
		h.t.Fatalf("Wait returned n=%d with a fired slice of %d", n, len(fired))
	}
	for i, f := range fired[:n] {
		for _, g := range fired[:i] {
			if g.Fd == f.Fd {
				h.t.Errorf("Wait reported fd %d twice in one call (%v and %v); at most one entry per fd", f.Fd, g.Mask, f.Mask)
			}
		}
		reg := p.Mask(f.Fd) & event.IO
		switch {
		case reg == event.None:
			h.t.Errorf("Wait reported fd %d (%v), which is not registered", f.Fd, f.Mask)
		case f.Mask&event.IO == event.None:
			h.t.Errorf("Wait reported fd %d with %v: neither Readable nor Writable", f.Fd, f.Mask)
		case f.Mask&event.IO&^reg != 0:
			h.t.Errorf("Wait reported fd %d with %v, but only %v is registered", f.Fd, f.Mask, reg)
		case f.Mask&^(event.IO|event.Hangup|event.Error) != 0:
			h.t.Errorf("Wait reported fd %d with %v: bits a report never carries", f.Fd, f.Mask)
		}
	}
}

// wait calls p.Wait, fails the subtest on an error, checks the entries
// (see check) and returns a copy of them.
func (h *ptHarness) wait(p *mux.Poller, fired []event.Fired, timeout time.Duration) []event.Fired {
	h.t.Helper()
	n, err := p.Wait(fired, timeout)
	if err != nil {
		h.t.Fatalf("Wait(%v): %v", timeout, err)
	}
	h.check(p, fired, n)
	return slices.Clone(fired[:n])
}

// waitIdle waits ptIdle on p, where nothing is ready and no Wake is
// pending, and fails the subtest if Wait reports anything, returns before
// the timeout, or spins: it may return to the kernel early now and then
// (the backend contract allows it), but not thousands of times.
func (h *ptHarness) waitIdle(p *mux.Poller, why string) {
	h.t.Helper()
	h.waitIdleFor(p, ptIdle, why)
}

func (h *ptHarness) waitIdleFor(p *mux.Poller, d time.Duration, why string) {
	h.t.Helper()
	fired := make([]event.Fired, 8)
	before := p.Stats().Waits
	start := time.Now()
	got := h.wait(p, fired, d)
	el := time.Since(start)
	waits := p.Stats().Waits - before
	if len(got) > 0 {
		h.t.Errorf("%s: Wait(%v) reported %v; want nothing", why, d, got)
		return
	}
	if el < d {
		h.t.Errorf("%s: Wait(%v) returned nothing after only %v: a timed Wait returned early", why, d, el)
	}
	if limit := ptSpinLimit(d); waits > limit {
		h.t.Errorf("%s: one Wait(%v) went to the kernel %d times (more than %d): it spins", why, d, waits, limit)
	}
}

// ptSpinLimit is how many backend waits one idle Wait of d may make: a
// backend may return early (a signal, a coarse timer), but one return per
// 100 µs is a busy loop.
func ptSpinLimit(d time.Duration) uint64 { return 10 + uint64(d/(100*time.Microsecond)) }

// waitFor calls Wait on p until it reports fd or within passes, and
// returns fd's mask. Entries for other fds are checked (see check) and
// ignored. It fails the subtest if fd is not reported in time.
func (h *ptHarness) waitFor(p *mux.Poller, fd int, within time.Duration, why string) event.Mask {
	h.t.Helper()
	fired := make([]event.Fired, 16)
	deadline := time.Now().Add(within)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			h.t.Fatalf("%s: fd %d was not reported within %v", why, fd, within)
		}
		for _, f := range h.wait(p, fired, left) {
			if f.Fd == fd {
				return f.Mask
			}
		}
	}
}

// expect waits once (with timeout) and requires exactly the entries want,
// in any order.
func (h *ptHarness) expect(p *mux.Poller, timeout time.Duration, why string, want ...event.Fired) {
	h.t.Helper()
	got := h.wait(p, make([]event.Fired, len(want)+8), timeout)
	if !ptSameEntries(got, want) {
		h.t.Errorf("%s: Wait reported %v; want %v", why, ptFormat(got), ptFormat(want))
	}
}

func ptSorted(f []event.Fired) []event.Fired {
	s := slices.Clone(f)
	sort.Slice(s, func(i, j int) bool { return s[i].Fd < s[j].Fd })
	return s
}

// ptSameEntries compares two lists of entries as sets.
func ptSameEntries(a, b []event.Fired) bool {
	return slices.Equal(ptSorted(a), ptSorted(b))
}

func ptFormat(f []event.Fired) string {
	if len(f) == 0 {
		return "nothing"
	}
	s := ""
	for i, e := range ptSorted(f) {
		if i > 0 {
			s += ", "
		}
		s += "fd " + strconv.Itoa(e.Fd) + " " + e.Mask.String()
	}
	return s
}

// ptF builds an entry.
func ptF(fd int, m event.Mask) event.Fired { return event.Fired{Fd: fd, Mask: m} }

// statsDelta is what the kernel-call counters moved by between a and b.
func ptCtlDelta(a, b mux.Stats) [3]uint64 {
	return [3]uint64{b.Registers - a.Registers, b.Modifies - a.Modifies, b.Deregisters - a.Deregisters}
}

// ptOpenFds lists the process's open fds: from /proc/self/fd where it
// exists (Linux), else by asking fcntl(F_GETFD) about every number below
// the fd limit (capped at 65,536).
func ptOpenFds(t *testing.T) []int {
	t.Helper()
	if d, err := os.Open("/proc/self/fd"); err == nil {
		self := int(d.Fd())
		names, err := d.Readdirnames(-1)
		d.Close()
		if err == nil {
			var fds []int
			for _, n := range names {
				fd, err := strconv.Atoi(n)
				if err == nil && fd != self {
					fds = append(fds, fd)
				}
			}
			sort.Ints(fds)
			return fds
		}
	}
	limit := 1 << 16
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && uint64(lim.Cur) < uint64(limit) {
		limit = int(lim.Cur)
	}
	var fds []int
	for fd := 0; fd < limit; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			fds = append(fds, fd)
		}
	}
	return fds
}

// ptRaiseNofile raises the soft fd limit to the hard one and returns the
// soft limit in force.
func ptRaiseNofile() uint64 {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur < lim.Max {
		want := lim
		want.Cur = want.Max
		if unix.Setrlimit(unix.RLIMIT_NOFILE, &want) == nil {
			return uint64(want.Cur)
		}
	}
	return uint64(lim.Cur)
}

// ptPercentiles returns the median, the 99th percentile and the maximum
// of d (sorted in place).
func ptPercentiles(d []time.Duration) (median, p99, worst time.Duration) {
	slices.Sort(d)
	return d[len(d)/2], d[(len(d)*99)/100], d[len(d)-1]
}

// signalStorm, for both suites, locks the calling goroutine to its thread
// and sends it
// SIGUSR1 every interval (ptThreadSignaller: tgkill on Linux, so that a
// blocking poll in that very thread is interrupted with EINTR; elsewhere
// the kernel picks the thread, so only sometimes) until the returned
// function is called from the same goroutine; that returns how many
// signals were sent.
func signalStorm(interval time.Duration) (stop func() (sent int)) {
	runtime.LockOSThread()
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGUSR1)
	send := ptThreadSignaller(unix.SIGUSR1)
	quit, done := make(chan struct{}), make(chan struct{})
	n := 0
	go func() {
		defer close(done)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tk.C:
				if send() == nil {
					n++
				}
			case <-ch:
			}
		}
	}()
	return func() int {
		close(quit)
		<-done
		signal.Stop(ch)
		runtime.UnlockOSThread()
		return n
	}
}
