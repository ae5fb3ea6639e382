package mux

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aemux/mux/event"
)

// The sentinel errors. Their texts are part of the API: do not change them.
var (
	// ErrClosed is returned by every method of a closed Poller, and by a
	// Wait that Close interrupted.
	ErrClosed = errors.New("aemux: poller closed")
	// ErrRange is returned for a negative fd, an fd at or above the set
	// size, a set size below 1, and a Resize below a registered fd. On
	// Windows, where the set size bounds how many sockets are registered:
	// the Add of one socket more, a Resize below Len, a handle value no
	// handle can have.
	ErrRange = errors.New("aemux: fd out of range")
	// ErrBadMask is returned for mask bits that are unknown or that cannot
	// be registered (Hangup and Error are report-only).
	ErrBadMask = errors.New("aemux: bad event mask")
	// ErrNotPollable is returned by Add for regular files and directories,
	// on every backend, and on Windows for every handle that is not a socket.
	ErrNotPollable = errors.New("aemux: fd is not pollable")
	// ErrUnknownBackend is returned by Open for a backend name that is not
	// built for this OS.
	ErrUnknownBackend = errors.New("aemux: unknown backend")
)

// EnvBackend names the environment variable that picks the backend when no
// WithBackend option is given.
const EnvBackend = "AEMUX_BACKEND"

// Mode is how readiness is reported.
type Mode int

const (
	// Level reports an fd at every Wait for as long as it is ready (the
	// default, and ae's only mode).
	Level Mode = iota
	// Edge reports an fd once per change to ready; read or write until
	// EAGAIN before waiting again. A short read may be taken as the end of
	// the input only when the report carried no Hangup: a FIN that came
	// with the data is reported once, with it, and must still be read
	// (see aeloop's "Edge-triggered handlers"). Not every backend has it
	// (Caps.Edge).
	Edge
	// Oneshot reports an fd once and then disarms it until the next Add for
	// it, which re-arms it even when its mask does not change.
	Oneshot
)

// String returns "level", "edge" or "oneshot".
func (m Mode) String() string {
	switch m {
	case Level:
		return "level"
	case Edge:
		return "edge"
	case Oneshot:
		return "oneshot"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Caps tells what a backend supports and reports.
type Caps struct {
	// Edge is true when WithMode(Edge) is supported.
	Edge bool
	// Oneshot is true when WithMode(Oneshot) is supported.
	Oneshot bool
	// OneshotEmulated is true when Oneshot is done by the Poller rather
	// than the kernel (poll): an fd is disarmed after the Wait that reports it.
	OneshotEmulated bool
	// LevelEmulated is true when the kernel reports once per request and
	// Level is done by renewing the request at the next Wait (iocp).
	LevelEmulated bool
	// Hangup is true when a full close by the peer (a pipe's writer
	// closed, a socket closed) carries the Hangup hint.
	Hangup bool
	// HalfClose is true when a peer's shutdown(SHUT_WR) also carries the
	// Hangup hint (epoll's EPOLLRDHUP, kqueue's EV_EOF, poll's POLLRDHUP).
	HalfClose bool
	// Error is true when error conditions carry the Error hint.
	Error bool
	// Pollable is true when Fd returns an fd that another Poller can watch;
	// it becomes readable when this Poller has something to report.
	Pollable bool
	// Resolution is the granularity of Wait's timeout (1ns or 1ms). Timeouts
	// are rounded up to it, never down.
	Resolution time.Duration
}

// backend is the contract every kernel interface implements; the Poller is
// its only caller. Each backend file asserts `var _ backend = (*T)(nil)`.
//
// The Poller has validated every argument before a call: fd is in range and
// masks contain only event.Readable and event.Writable. The Poller owns the
// mask table; a backend keeps only the native state it cannot derive from it.
// No method is called after close, and none concurrently with another except
// wake, which may run during wait.
//
// A backend has no name of its own: it registers its open function under
// a name of the platform table (platforms.go).
//
//   - caps() describes the backend for the mode it was opened with.
//   - fd() is a pollable descriptor for the whole set, or -1.
//   - ctl(fd, old, new) moves fd's kernel interest from old to new. old ==
//     None means the kernel does not watch fd (register it); new == None
//     means stop watching it; otherwise modify. old == new happens only in
//     Oneshot mode and means re-arm. It answers ENOENT (wrapped) when old
//     says the fd is watched but the kernel has forgotten it, because the fd
//     was closed without Del; the Poller then registers the new interest
//     afresh. For old == None it refuses regular files and directories with
//     ErrNotPollable and closed fds with EBADF.
//   - wait(fired, timeout) blocks for up to timeout (< 0: without limit, 0:
//     not at all), fills fired (len > 0) with at most one entry per fd and
//     returns how many, and whether its wake-up was consumed. A wake alone
//     gives (0, true, nil). Returning early is allowed; the Poller rechecks the
//     clock. EINTR is returned as the bare unix.EINTR, other failures wrapped.
//     Entries carry Readable/Writable (error and hang-up as both) plus the
//     Hangup and Error hints; the Poller trims them to the registered mask.
//   - wake() makes a wait in progress, or the next one, return. The Poller
//     coalesces calls, so wake runs at most once per consumed wake-up.
//   - resize(setsize) adapts native state to a new set size; no registered
//     fd is at or above it.
//   - close() releases every kernel resource; called once.
type backend interface {
	caps() Caps
	fd() int
	ctl(fd int, old, new event.Mask) error
	wait(fired []event.Fired, timeout time.Duration) (n int, woke bool, err error)
	wake() error
	resize(setsize int) error
	close() error
}

type backendInfo struct {
	name string // a name of the platform table
	wake string // the wake-up it uses, also of the table
	open func(setsize int, mode Mode) (backend, error)
}

// registry holds the backends built, in the platform table's order.
var registry []backendInfo

// register is called from each backend file's init, with the backend's
// name and wake-up in the platform table (platforms.go).
func register(name, wake string, open func(setsize int, mode Mode) (backend, error)) {
	registry = append(registry, backendInfo{name, wake, open})
	row := platforms[runtime.GOOS]
	rank := func(b backendInfo) int {
		for i, r := range row {
			if r.name == b.name {
				return i
			}
		}
		return len(row) // not in the table: last (TestPlatforms fails)
	}
	sort.SliceStable(registry, func(i, j int) bool { return rank(registry[i]) < rank(registry[j]) })
}

// Backends returns the names of the backends built for this OS, the
// default first: ["epoll", "poll"] on Linux (["epoll", "kqueue", "poll"]
// with -tags libkqueue), ["kqueue", "poll"] on macOS and the BSDs, ["iocp"]
// on Windows.
func Backends() []string {
	names := make([]string, len(registry))
	for i, b := range registry {
		names[i] = b.name
	}
	return names
}

// Option configures Open.
type Option func(*options)

type options struct {
	backend string
	mode    Mode
}

// WithBackend chooses the backend by name ("epoll", "kqueue", "poll", "iocp"). It
// takes precedence over $AEMUX_BACKEND.
func WithBackend(name string) Option { return func(o *options) { o.backend = name } }

// WithMode chooses how readiness is reported: Level (the default), Edge or
// Oneshot. A backend without the mode makes Open fail with an error that
// matches errors.ErrUnsupported (poll has no Edge).
func WithMode(m Mode) Option { return func(o *options) { o.mode = m } }

// record is what a Poller keeps per registered fd, the one record of its
// interest: the mask (Readable, Writable or both; None while the fd is not
// registered) and the registration's generation (see Poller.Registration;
// 0 while the fd is not registered).
type record struct {
	mask event.Mask
	gen  uint64
}

// Poller watches fds for readiness. Create it with Open.
type Poller struct {
	be    backend
	name  string
	mode  Mode
	masks maskTable // the per-fd records: interest and generation
	count int       // fds with a non-None mask
	seq   uint64    // the last generation handed out

	// state counts the calls in progress that use kernel fds, with
	// closedBit set once Close ran. The last one out releases the backend.
	state       atomic.Int64
	release     sync.Once
	releaseErr  error
	wakePending atomic.Bool
	stats       Stats
}

// Stats counts what a Poller asked of the kernel. Registers, Modifies and
// Deregisters count backend registration changes (epoll's EPOLL_CTL_ADD,
// MOD and DEL; kqueue's EV_ADD/EV_DELETE batches; poll's slot changes),
// so a test or a profile can see that an unchanged mask costs nothing.
type Stats struct {
	Registers   uint64 // fd newly watched (EPOLL_CTL_ADD)
	Modifies    uint64 // interest changed or re-armed (EPOLL_CTL_MOD)
	Deregisters uint64 // fd no longer watched (EPOLL_CTL_DEL)
	Waits       uint64 // backend wait calls, retries after EINTR included
	Fired       uint64 // entries returned by Wait
}

const closedBit = int64(1) << 62

// Open creates a Poller for fds 0 to setsize-1; on Windows, for up to setsize
// sockets, whatever their handle values.
func Open(setsize int, opts ...Option) (*Poller, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if setsize < 1 {
		return nil, fmt.Errorf("%w: set size %d", ErrRange, setsize)
	}
	if o.mode < Level || o.mode > Oneshot {
		return nil, fmt.Errorf("aemux: unknown mode %d: %w", int(o.mode), errors.ErrUnsupported)
	}
	name := o.backend
	if name == "" {
		name = os.Getenv(EnvBackend)
	}
	info, err := pickBackend(name)
	if err != nil {
		return nil, err
	}
	be, err := info.open(setsize, o.mode)
	if err != nil {
		return nil, err
	}
	return &Poller{be: be, name: info.name, mode: o.mode, masks: newMaskTable(setsize)}, nil
}

// enter marks a call that uses kernel fds; false means the Poller is closed.
func (p *Poller) enter() bool {
	if p.state.Add(1)&closedBit != 0 {
		p.exit()
		return false
	}
	return true
}

func (p *Poller) exit() {
	if p.state.Add(-1) == closedBit {
		p.releaseBackend()
	}
}

func (p *Poller) releaseBackend() {
	p.release.Do(func() { p.releaseErr = p.be.close() })
}

func (p *Poller) check(fd int, mask event.Mask) error {
	if err := p.masks.checkFd(fd); err != nil {
		return err
	}
	if mask&^event.IO != 0 {
		return fmt.Errorf("%w: %v (a Poller registers Readable and Writable only)", ErrBadMask, mask)
	}
	return nil
}

// Add merges mask (Readable, Writable or both) into fd's interest. The
// kernel is called only when the interest changes (in Oneshot mode, also
// to re-arm). On failure the table is unchanged. Barrier is not a Poller
// bit (ErrBadMask): it orders aeloop's handlers and lives in aeloop.
//
// When fd was closed without Del and its number reused, the kernel forgot
// the old file: the new one is registered afresh with mask alone, as a new
// registration (see Registration).
func (p *Poller) Add(fd int, mask event.Mask) error {
	return p.change(fd, mask, p.add)
}

// change lets a call that changes fd's interest in, checks fd and mask,
// and runs do (add or del) on fd's current interest.
func (p *Poller) change(fd int, mask event.Mask, do func(fd int, old, mask event.Mask) error) error {
	if !p.enter() {
		return ErrClosed
	}
	defer p.exit()
	if err := p.check(fd, mask); err != nil {
		return err
	}
	return do(fd, p.masks.get(fd).mask, mask)
}

func (p *Poller) add(fd int, old, mask event.Mask) error {
	if old == event.None && mask != event.None {
		if err := p.masks.admit(fd); err != nil {
			return err
		}
	}
	nw := old | mask
	afresh := false
	if nw != old || (p.mode == Oneshot && mask != event.None) {
		err := p.ctl(fd, old, nw)
		if err != nil && old != event.None && errors.Is(err, syscall.ENOENT) {
			// The fd was closed without Del and its number reused: the
			// kernel forgot the old file. Register the new one afresh,
			// with only the interest asked for now.
			nw, afresh = mask, true
			err = p.ctl(fd, event.None, nw)
		}
		if err != nil {
			return fmt.Errorf("aemux: add fd %d %v: %w", fd, mask, err)
		}
	}
	p.set(fd, nw, afresh)
	return nil
}

// Del removes mask (Readable, Writable or both) from fd's interest. When
// none remains the fd is deregistered; that succeeds even when the fd was
// closed before Del, on every backend. Deleting from an fd that is not
// registered does nothing. The table is always updated; a kernel error
// (a Del that leaves a bit registered on an fd closed before it, on epoll
// or kqueue) is returned for information and matches its errno.
func (p *Poller) Del(fd int, mask event.Mask) error {
	return p.change(fd, mask, p.del)
}

func (p *Poller) del(fd int, old, mask event.Mask) error {
	nw := old &^ mask
	if old == nw {
		return nil
	}
	p.set(fd, nw, false)
	err := p.ctl(fd, old, nw)
	if err != nil && nw == event.None && (errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EBADF)) {
		// The fd was closed (EBADF), or closed and its number reused by a
		// file the kernel never watched (ENOENT): its registration went
		// with it. epoll and kqueue say so, poll asks nothing; all agree.
		return nil
	}
	if err != nil && errors.Is(err, syscall.ENOENT) {
		err = p.ctl(fd, event.None, nw)
	}
	if err != nil {
		return fmt.Errorf("aemux: del fd %d %v: %w", fd, mask, err)
	}
	return nil
}

// set stores fd's new interest m. A registration starts when m leaves
// None, or afresh when the kernel forgot fd's old file: it gets the next
// generation. It ends when m is None.
func (p *Poller) set(fd int, m event.Mask, afresh bool) {
	r := p.masks.get(fd)
	switch {
	case m == event.None:
		if r.mask != event.None {
			p.count--
		}
		r.gen = 0
	case r.mask == event.None:
		p.count++
		fallthrough
	case afresh:
		p.seq++
		r.gen = p.seq
	}
	r.mask = m
	p.masks.put(fd, r)
}

// Mask returns fd's registered interest (Readable, Writable or both); None
// for an fd that is not registered or out of range.
func (p *Poller) Mask(fd int) event.Mask { return p.masks.get(fd).mask }

// Registration returns fd's registered interest, as Mask does, and its
// generation: a number, never 0, that a registration gets when it starts
// (an Add to an fd with no interest, or the Add that registers a reused
// fd number afresh) and keeps until its interest is None; 0 for an fd
// that is not registered or out of range. Code that handles the entries
// of one Wait in turn reads the generations right after the Wait, then
// skips an entry whose fd's generation changed since: its fd was deleted,
// and perhaps added again, by the handling of an earlier entry, and the
// readiness reported is the old file's. Package aeloop does so.
func (p *Poller) Registration(fd int) (event.Mask, uint64) {
	r := p.masks.get(fd)
	return r.mask, r.gen
}

// Stats returns the Poller's counters. Like Add, call it from the goroutine
// that drives the Poller.
func (p *Poller) Stats() Stats { return p.stats }

// ctl calls the backend and counts the change.
func (p *Poller) ctl(fd int, old, nw event.Mask) error {
	switch {
	case old == event.None:
		p.stats.Registers++
	case nw == event.None:
		p.stats.Deregisters++
	default:
		p.stats.Modifies++
	}
	return p.be.ctl(fd, old, nw)
}

// Len returns the number of registered fds.
func (p *Poller) Len() int { return p.count }

// Wait waits for registered fds to become ready and fills fired with one
// entry per ready fd, at most len(fired) of them; fds left over are reported
// by later Waits (no fd starves). timeout < 0 blocks until an fd is ready or
// Wake or Close is called; 0 returns at once; > 0 waits at least that long
// unless something happens. Wait returns (0, nil) on timeout and on Wake,
// and ErrClosed once Close was called. It allocates nothing.
func (p *Poller) Wait(fired []event.Fired, timeout time.Duration) (int, error) {
	if !p.enter() {
		return 0, ErrClosed
	}
	defer p.exit()
	if len(fired) == 0 {
		return 0, fmt.Errorf("%w: Wait needs a fired slice of length 1 or more", ErrRange)
	}
	dl := newDeadline(timeout)
	for {
		n, woke, err := p.be.wait(fired, timeout)
		p.stats.Waits++
		if woke {
			p.wakePending.Store(false)
		}
		if p.state.Load()&closedBit != 0 {
			return 0, ErrClosed
		}
		if err != nil && err != syscall.EINTR {
			return 0, err
		}
		if n = p.trim(fired[:n]); n > 0 || woke || timeout == 0 {
			p.stats.Fired += uint64(n)
			return n, nil
		}
		var more bool
		if timeout, more = dl.retry(); !more {
			return 0, nil
		}
	}
}

// deadline is a wait's timeout seen from its retries: a wait interrupted
// by a signal (EINTR), or one the kernel ended a little early, goes on
// for the time that remains, never longer, so that the timeout holds
// across retries. Poller.Wait and WaitFd share it.
type deadline struct {
	timeout time.Duration // < 0: no limit; 0: do not block
	at      time.Duration // monotime when the timeout passes (timeout > 0)
}

func newDeadline(timeout time.Duration) deadline {
	d := deadline{timeout: timeout}
	if timeout > 0 {
		d.at = monotime() + timeout
	}
	return d
}

// retry returns the timeout of the next try, and false when there is no
// time left for one.
func (d deadline) retry() (time.Duration, bool) {
	switch {
	case d.timeout < 0:
		return -1, true
	case d.timeout == 0:
		return 0, false
	}
	left := d.at - monotime()
	return left, left > 0
}

// epoch is the origin of monotime.
var epoch = time.Now()

// monotime reads only the monotonic clock: half the cost of time.Now, which
// also reads the wall clock.
func monotime() time.Duration { return time.Since(epoch) }

// trim keeps only the registered bits (and the hints) of each entry and
// drops entries left with nothing, compacting in place.
func (p *Poller) trim(fired []event.Fired) int {
	n := 0
	for _, f := range fired {
		reg := p.masks.get(f.Fd).mask & event.IO
		if m := f.Mask & (reg | event.Hangup | event.Error); m&event.IO != 0 {
			fired[n] = event.Fired{Fd: f.Fd, Mask: m}
			n++
		}
	}
	return n
}

// Wake makes a Wait in progress return (0, nil), or the next Wait if none
// is running. Safe from any goroutine. Wakes before one Wait collapse into
// one return; a Wake that arrives while Wait is already returning may be
// merged into that return.
func (p *Poller) Wake() error {
	if !p.enter() {
		return ErrClosed
	}
	defer p.exit()
	if p.wakePending.Swap(true) {
		return nil
	}
	if err := p.be.wake(); err != nil {
		p.wakePending.Store(false)
		return fmt.Errorf("aemux: wake: %w", err)
	}
	return nil
}

// Resize changes the set size. It fails with ErrRange, changing nothing,
// when a registered fd is at or above setsize or setsize is below 1.
func (p *Poller) Resize(setsize int) error {
	if !p.enter() {
		return ErrClosed
	}
	defer p.exit()
	if setsize < 1 {
		return fmt.Errorf("%w: set size %d", ErrRange, setsize)
	}
	if setsize == p.masks.size() {
		return nil
	}
	if err := p.masks.canResize(setsize); err != nil {
		return err
	}
	if err := p.be.resize(setsize); err != nil {
		return fmt.Errorf("aemux: resize: %w", err)
	}
	p.masks.resize(setsize)
	return nil
}

// SetSize returns the set size: fds must be below it.
func (p *Poller) SetSize() int { return p.masks.size() }

// Name returns the backend's name: "epoll", "kqueue", "poll" or "iocp".
func (p *Poller) Name() string { return p.name }

// Mode returns the mode the Poller was opened with.
func (p *Poller) Mode() Mode { return p.mode }

// Caps describes what this Poller's backend supports and reports.
func (p *Poller) Caps() Caps { return p.be.caps() }

// Fd returns a descriptor that is readable when Wait has something to
// report (the epoll or kqueue fd), or -1 for poll and iocp, for kqueue over
// libkqueue and after Close. Do not close it or read from it.
func (p *Poller) Fd() int {
	if p.state.Load()&closedBit != 0 {
		return -1
	}
	return p.be.fd()
}

// Close releases the Poller. Safe from any goroutine: a Wait in progress
// returns ErrClosed, and the kernel fds are released once it has. Close does
// not close registered fds. A second Close returns ErrClosed.
func (p *Poller) Close() error {
	s := p.state.Add(1) // count Close as a user so the backend outlives its wake
	for {
		if s&closedBit != 0 {
			p.exit()
			return ErrClosed
		}
		if p.state.CompareAndSwap(s, s|closedBit) {
			break
		}
		s = p.state.Load()
	}
	if s > 1 {
		_ = p.be.wake() // a Wait may be blocked; it returns ErrClosed
	}
	p.exit()
	if p.state.Load() == closedBit {
		p.releaseBackend()
		return p.releaseErr
	}
	return nil
}

// timeoutMs is a wait's timeout in the whole milliseconds that poll(2) and
// epoll_wait(2) take: rounded up, so that a wait never ends early
// (redis#8764), and capped at MaxInt32; -1 (no limit) for a negative one.
func timeoutMs(d time.Duration) int {
	if d < 0 {
		return -1
	}
	return int(min((d+time.Millisecond-1)/time.Millisecond, math.MaxInt32))
}

// syscallErr wraps err with the system call's name, keeping errors.Is.
func syscallErr(call string, err error) error {
	if err == nil {
		return nil
	}
	return os.NewSyscallError(call, err)
}
