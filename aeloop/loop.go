package aeloop

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

// The ProcessEvents flags. Their values are Redis's AE_FILE_EVENTS,
// AE_TIME_EVENTS, AE_ALL_EVENTS, AE_DONT_WAIT, AE_CALL_BEFORE_SLEEP and
// AE_CALL_AFTER_SLEEP, so that ported C code keeps its constants.
const (
	// FileEvents processes fd events (AE_FILE_EVENTS).
	FileEvents = 1
	// TimeEvents processes timers (AE_TIME_EVENTS).
	TimeEvents = 2
	// AllEvents is FileEvents|TimeEvents (AE_ALL_EVENTS).
	AllEvents = FileEvents | TimeEvents
	// DontWait makes the poll return at once (AE_DONT_WAIT).
	DontWait = 4
	// CallBeforeSleep runs the SetBeforeSleep hook before polling
	// (AE_CALL_BEFORE_SLEEP).
	CallBeforeSleep = 8
	// CallAfterSleep runs the SetAfterSleep hook right after polling
	// (AE_CALL_AFTER_SLEEP).
	CallAfterSleep = 16
)

// NoMore, returned by a TimeProc, deletes the timer (AE_NOMORE).
const NoMore time.Duration = -1

// FileProc handles an fd event (aeFileProc). mask is what fired: Readable
// and/or Writable, plus the Hangup and Error hints where the backend
// reports them.
type FileProc func(l *Loop, fd int, clientData any, mask Mask)

// TimeProc handles a timer (aeTimeProc). It returns NoMore to delete the
// timer, or the delay until its next run, counted from when it returns.
// The delay is a time.Duration: where ae's timeProc returns ms, return
// ms * time.Millisecond. A bare constant ("return 100") compiles and means
// 100 ns; cmd/aeloopvet reports it.
type TimeProc func(l *Loop, id int64, clientData any) time.Duration

// Finalizer is called once when a timer is gone for good
// (aeEventFinalizerProc): deleted, stopped by NoMore, or dropped by Close.
type Finalizer func(l *Loop, clientData any)

// Errors returned by aeloop besides those of package mux (mux.ErrRange,
// mux.ErrBadMask, mux.ErrClosed, mux.ErrNotPollable, syscall errors).
var (
	// ErrNoTimer is returned by DelTimer for an id that was never
	// returned by AddTimer or whose timer is already deleted.
	ErrNoTimer = errors.New("aeloop: no such timer")
	// ErrNilFunc is returned when a handler, timer procedure or posted
	// function is nil: it would only crash the loop later.
	ErrNilFunc = errors.New("aeloop: nil function")
)

// maxFired caps the fired buffer a poll fills: fds left over are reported
// by the next poll (the Poller guarantees that none starves).
const maxFired = 4096

// fileEvent is what aeloop keeps per fd (aeFileEvent without its
// interest): the handlers, the client data and Barrier. The fd's interest
// (Readable, Writable) and its registration's generation are the Poller's
// record, which the loop asks (Poller.Registration): the mask is kept
// once.
type fileEvent struct {
	rproc, wproc FileProc
	data         any
	// both: Readable and Writable were last set by one AddEvent call, so
	// the handler is called once when both fire (ae compares the two proc
	// pointers; Go cannot compare funcs).
	both bool
	// barrier: the fd's mask has Barrier, which only the loop knows. An
	// fd with Barrier and no interest is registered with the loop alone
	// (as in ae, where it holds a slot).
	barrier bool
}

// batch is the fired buffer of one ProcessEvents nesting level.
type batch struct {
	fired []event.Fired
	gens  []uint64
}

// Stats are a Loop's counters. Nested ProcessEvents calls count too, so
// their time shows in both Polling and, for the outer call, Handling.
type Stats struct {
	// Iterations counts ProcessEvents calls that had FileEvents or
	// TimeEvents in their flags (Main makes one per iteration).
	Iterations uint64
	// Polls counts the calls into the Poller's Wait.
	Polls uint64
	// Fired counts fired fd entries processed (the file part of
	// ProcessEvents' return value).
	Fired uint64
	// Timers counts timer callbacks run.
	Timers uint64
	// Posts counts posted functions run.
	Posts uint64
	// Polling is the time spent blocked in the Poller's Wait (the kernel).
	Polling time.Duration
	// Handling is the rest of the time spent in ProcessEvents: hooks, fd
	// handlers, posted functions, timers and finalizers.
	Handling time.Duration
	// Poller are the counters of the underlying Poller: how often the
	// kernel's registration was changed.
	Poller mux.Stats
}

// Loop is an ae event loop: fd handlers, timers, hooks and posted
// functions, driven by one goroutine, the loop goroutine, through
// ProcessEvents or Main.
//
// Stop, RequestStop, Post and Close may be called from any goroutine, at
// any time, also while another goroutine is blocked in ProcessEvents or
// Main. Every other method belongs to the loop goroutine, or to code
// running on it (handlers, timers, hooks, posted functions, finalizers),
// and must not overlap with a Close made from another goroutine while no
// ProcessEvents or Main call is running (Close then finalizes the timers
// itself; see Close).
type Loop struct {
	p      *mux.Poller
	events []fileEvent // indexed by fd; len is the set size
	// barrierOnly counts the fds registered with Barrier alone, which
	// the Poller does not count (Poller.Len).
	barrierOnly int

	batches []batch // fired buffers, indexed by nesting level (nest-1)

	beforeSleep func(*Loop)
	afterSleep  func(*Loop)
	dontWait    bool
	stop        atomic.Bool
	stopRequest atomic.Bool // RequestStop: kept until a Main returns for it

	// state holds stateInside and stateClosed. Whichever of Close and the
	// end of the outermost ProcessEvents or Main sees both bits set runs
	// shutdown, so it runs once, on the loop goroutine whenever that one
	// was inside.
	state atomic.Uint32
	// nest counts the ProcessEvents and Main calls in progress (loop
	// goroutine only): it is the nesting level, and a ProcessEvents call
	// at level nest dispatches from batches[nest-1].
	nest int

	timers timerState

	postMu      sync.Mutex
	posted      []func(*Loop) // queued by Post
	spare       []func(*Loop) // the other buffer, reused by the next swap
	postClosed  bool
	postPending atomic.Bool // posted is not empty; a hint read without postMu

	base      time.Time // the monotonic origin of timer due times
	lastYield int64     // when ProcessEvents last yielded (see yieldEvery)
	stats     Stats
}

// yieldEvery is how often a busy loop yields to the Go scheduler, below
// the 10 ms after which sysmon would preempt it (see the package doc,
// "Running a loop on a dedicated thread").
const yieldEvery = 8 * time.Millisecond

// CreateLoop creates a loop for fds 0 to setsize-1 (aeCreateEventLoop).
// opts are those of mux.Open: WithBackend picks the backend. ae's rules
// assume the default Level mode. With Edge an event comes once per change,
// so a handler that leaves input unread must come back for it itself
// (cmd/aeserver queues such clients and serves them in its before-sleep
// hook, with SetDontWait); with Oneshot an fd is re-armed by the next
// AddEvent for it.
func CreateLoop(setsize int, opts ...mux.Option) (*Loop, error) {
	p, err := mux.Open(setsize, opts...)
	if err != nil {
		return nil, err
	}
	l := &Loop{p: p, events: make([]fileEvent, setsize), base: time.Now()}
	l.timers.init()
	return l, nil
}

// The bits of Loop.state.
const (
	// stateInside: the loop goroutine is in a ProcessEvents or Main call.
	stateInside uint32 = 1 << iota
	// stateClosed: Close was called.
	stateClosed
)

// isClosed reports whether Close was called; safe from any goroutine.
func (l *Loop) isClosed() bool { return l.state.Load()&stateClosed != 0 }

// enter marks the start of a ProcessEvents or Main call; false means the
// loop is closed. The outermost call costs one CAS, nested ones a load.
func (l *Loop) enter() bool {
	if l.nest == 0 {
		if !l.state.CompareAndSwap(0, stateInside) {
			return false // stateClosed is the only other bit
		}
	} else if l.isClosed() {
		return false
	}
	l.nest++
	return true
}

// leave marks the end of a call that enter let in. The outermost one
// clears stateInside and, if Close came meanwhile, finishes its work here,
// on the loop goroutine.
func (l *Loop) leave() {
	l.nest--
	if l.nest == 0 && l.state.And(^stateInside)&stateClosed != 0 {
		l.shutdown()
	}
}

func rangeErr(op string, fd, setsize int) error {
	// Both sentinels, so that code ported from C can check ERANGE.
	return fmt.Errorf("aeloop: %s fd %d: %w (set size %d): %w", op, fd, mux.ErrRange, setsize, syscall.ERANGE)
}

// AddEvent registers proc for mask on fd (aeCreateFileEvent). mask merges
// into what fd already has; Readable sets the read handler, Writable the
// write handler, Barrier (with Writable) makes the write handler run first.
// clientData overwrites the one slot both handlers share. Registering
// Readable|Writable in one call makes proc serve both: when both fire it is
// called once, with both bits.
//
// fd < 0 or >= SetSize fails with an error matching mux.ErrRange (and
// unix.ERANGE); unknown bits or Hangup/Error with mux.ErrBadMask; a nil
// proc with ErrNilFunc; a regular file or directory with
// mux.ErrNotPollable. On any error nothing changes.
func (l *Loop) AddEvent(fd int, mask Mask, proc FileProc, clientData any) error {
	if l.isClosed() {
		return mux.ErrClosed
	}
	if proc == nil && mask&event.IO != 0 {
		return fmt.Errorf("aeloop: add fd %d: %w", fd, ErrNilFunc)
	}
	// The handler table is indexed by fd: this is the range check. (On
	// unix the Poller's table has the same bound; on Windows its set size
	// bounds a count of sockets, not their handle values.)
	if uint(fd) >= uint(len(l.events)) {
		return rangeErr("add", fd, len(l.events))
	}
	fe := &l.events[fd]
	old, gen := l.p.Registration(fd)
	// The Poller checks the bits it registers; Barrier is the loop's.
	if err := l.p.Add(fd, mask&^event.Barrier); err != nil {
		if errors.Is(err, mux.ErrRange) {
			// Windows: one socket more than the set size. ERANGE too, as
			// for an fd out of range.
			return fmt.Errorf("aeloop: add fd %d: %w: %w", fd, err, syscall.ERANGE)
		}
		return err
	}
	io, nwGen := l.p.Registration(fd)
	wasBarrierOnly := old == event.None && fe.barrier
	if gen != 0 && nwGen != gen {
		// The fd was closed without DelEvent and its number reused: the
		// Poller registered the new file with this call's interest only,
		// and the old Barrier went with the old file.
		fe.barrier = false
	}
	if mask&event.Barrier != 0 {
		fe.barrier = true
	}
	if io == event.None && !fe.barrier {
		return nil // mask None on an unregistered fd: nothing to keep
	}
	if isBarrierOnly := io == event.None; isBarrierOnly != wasBarrierOnly {
		if isBarrierOnly {
			l.barrierOnly++
		} else {
			l.barrierOnly--
		}
	}
	if mask&event.Readable != 0 {
		fe.rproc = proc
	}
	if mask&event.Writable != 0 {
		fe.wproc = proc
	}
	switch mask & event.IO {
	case event.IO:
		fe.both = true
	case event.Readable, event.Writable:
		fe.both = false // one of the two handlers was replaced on its own
	}
	fe.data = clientData
	return nil
}

// DelEvent removes mask from fd's interest (aeDeleteFileEvent); removing
// Writable removes Barrier too. Out-of-range and unregistered fds are
// ignored, and the kernel is called only when Readable or Writable actually
// change. Once fd has no interest left, its handlers and client data are
// dropped, and an event for it that is still pending in the current
// ProcessEvents batch is never delivered, even if fd is added again. Kernel
// errors are ignored, as in ae: the fd may already be closed.
func (l *Loop) DelEvent(fd int, mask Mask) {
	if uint(fd) >= uint(len(l.events)) {
		return
	}
	fe := &l.events[fd]
	wasBarrierOnly := fe.barrier && l.p.Mask(fd) == event.None
	// The Poller's record is updated even when the kernel call fails; an
	// fd it does not have costs no kernel call.
	if err := l.p.Del(fd, mask&event.IO); errors.Is(err, mux.ErrClosed) {
		return
	}
	io := l.p.Mask(fd)
	if io == event.None {
		if wasBarrierOnly {
			l.barrierOnly--
		}
		*fe = fileEvent{} // Barrier alone means nothing
		return
	}
	if mask&(event.Writable|event.Barrier) != 0 {
		fe.barrier = false
	}
	if io&event.Readable == 0 {
		fe.rproc, fe.both = nil, false
	}
	if io&event.Writable == 0 {
		fe.wproc, fe.both = nil, false
	}
}

// GetEvents returns fd's registered mask, Barrier included
// (aeGetFileEvents); None for an unregistered or out-of-range fd.
func (l *Loop) GetEvents(fd int) Mask {
	if uint(fd) >= uint(len(l.events)) {
		return event.None
	}
	m := l.p.Mask(fd)
	if l.events[fd].barrier {
		m |= event.Barrier
	}
	return m
}

// GetClientData returns the client data of a registered fd, nil otherwise
// (aeGetFileClientData).
func (l *Loop) GetClientData(fd int) any {
	if uint(fd) >= uint(len(l.events)) {
		return nil
	}
	if l.p.Mask(fd) == event.None && !l.events[fd].barrier {
		return nil
	}
	return l.events[fd].data
}

// registered returns fd's interest while fd still has the registration
// that fired (generation gen), None once it has another or none.
func (l *Loop) registered(fd int, gen uint64) event.Mask {
	m, g := l.p.Registration(fd)
	if g != gen || fd >= len(l.events) {
		return event.None
	}
	return m
}

func (l *Loop) now() int64 { return int64(time.Since(l.base)) }

// ProcessEvents runs one iteration of the loop (aeProcessEvents) and
// returns the number of fired fd entries processed plus timer callbacks run.
// In order:
//
//  1. Without FileEvents and TimeEvents in flags it returns 0 at once.
//  2. It polls only if some fd is registered, or flags has TimeEvents and
//     not DontWait.
//  3. Before polling: the before-sleep hook, if flags has CallBeforeSleep.
//  4. The timeout, computed after the hook: zero with DontWait (in flags or
//     set by SetDontWait); with TimeEvents, the time until the earliest
//     timer (blocking if there is none); with FileEvents only, blocking.
//  5. The poll. A failure other than EINTR is returned (ae aborts).
//  6. Without FileEvents in flags the fired events are dropped. On a
//     level-triggered Poller (the default) they come back at the next poll;
//     on one opened WithMode(mux.Edge) or mux.Oneshot they do not, so such
//     a loop should not poll without FileEvents while fds are registered.
//  7. The after-sleep hook, if flags has CallAfterSleep, even with no
//     event.
//  8. The fd handlers, fd by fd: read then write, or write then read when
//     the fd has Barrier; a handler runs only if its bit fired and is still
//     registered when its turn comes.
//  9. The functions queued by Post.
//  10. With TimeEvents, the finalizers of deleted timers, then the timers
//     due at the start of this step.
//
// It returns an error matching mux.ErrClosed when the loop was closed
// before the call, or when Close, from another goroutine, interrupted its
// poll. When the loop is closed later in the call (by a callback, or from
// another goroutine while callbacks run), the call runs no more fd
// handlers, posted functions or timers and returns what it processed, with
// no error; the next call returns mux.ErrClosed. Either way, when this is
// the outermost ProcessEvents (not nested in a callback, not in Main), the
// posted functions and finalizers left by Close run before it returns; see
// Close.
func (l *Loop) ProcessEvents(flags int) (int, error) {
	n, _, err := l.processEventsFrom(flags, -1)
	return n, err
}

// processEventsFrom is ProcessEvents. start, when not negative, is the loop
// clock (now) at which the call began: Main passes the end of its previous
// iteration, so that an iteration reads the clock three times (before and
// after the poll, and for the timers), not five. It returns the clock at
// the end of the call, or -1 when it did not read it.
func (l *Loop) processEventsFrom(flags int, start int64) (int, int64, error) {
	if !l.enter() {
		return 0, -1, mux.ErrClosed
	}
	defer l.leave()
	return l.processEvents(flags, start)
}

func (l *Loop) processEvents(flags int, start int64) (int, int64, error) {
	if flags&(FileEvents|TimeEvents) == 0 {
		return 0, -1, nil
	}
	l.stats.Iterations++
	if start < 0 {
		start = l.now()
	}
	idle := int64(0)
	processed := 0
	if l.p.Len() > 0 || l.barrierOnly > 0 || (flags&TimeEvents != 0 && flags&DontWait == 0) {
		hook := l.beforeSleep != nil && flags&CallBeforeSleep != 0
		if hook {
			l.beforeSleep(l)
		}
		if l.isClosed() {
			return 0, -1, nil
		}
		fired, gens := l.batch()
		polled := start
		if hook {
			polled = l.now()
		}
		if polled-l.lastYield >= int64(yieldEvery) {
			runtime.Gosched()
			polled = l.now()
			l.lastYield = polled
		}
		timeout := time.Duration(-1)
		if flags&DontWait != 0 || l.dontWait {
			timeout = 0
		} else if flags&TimeEvents != 0 {
			timeout = l.timers.untilEarliest(polled)
		}
		n, err := l.p.Wait(fired, timeout)
		woke := l.now()
		idle = woke - polled
		l.stats.Polls++
		l.stats.Polling += time.Duration(idle)
		if err != nil {
			l.stats.Handling += time.Duration(woke - start - idle)
			return 0, -1, fmt.Errorf("aeloop: poll: %w", err)
		}
		if flags&FileEvents == 0 {
			n = 0
		}
		for j := range n {
			_, gens[j] = l.p.Registration(fired[j].Fd)
		}
		if l.afterSleep != nil && flags&CallAfterSleep != 0 {
			l.afterSleep(l)
		}
		for j := 0; j < n && !l.isClosed(); j++ {
			l.dispatch(fired[j].Fd, fired[j].Mask, gens[j])
			processed++
		}
		l.stats.Fired += uint64(processed)
	}
	if l.postPending.Load() && !l.isClosed() {
		l.runPosts()
	}
	end := int64(-1)
	if flags&TimeEvents != 0 && !l.isClosed() {
		ran, passed := l.processTimers()
		processed += ran
		if ran == 0 {
			end = passed // nothing ran after the timer pass read the clock
		}
	}
	if end < 0 {
		end = l.now()
	}
	l.stats.Handling += time.Duration(end - start - idle)
	return processed, end, nil
}

// batch returns the fired buffers of the current nesting level, sized for
// the set size. A nested ProcessEvents is one level deeper and gets its
// own buffers, so it never overwrites the batch its caller is dispatching.
// (Main's level has none: it never polls itself.)
func (l *Loop) batch() ([]event.Fired, []uint64) {
	want := min(len(l.events), maxFired)
	for len(l.batches) < l.nest {
		l.batches = append(l.batches, batch{})
	}
	b := &l.batches[l.nest-1]
	if len(b.fired) != want {
		b.fired = make([]event.Fired, want)
		b.gens = make([]uint64, want)
	}
	return b.fired, b.gens
}

// dispatch runs fd's handlers for one fired entry.
func (l *Loop) dispatch(fd int, fired event.Mask, gen uint64) {
	m := l.registered(fd, gen) & fired
	if m == event.None {
		return
	}
	fe := &l.events[fd]
	invert := fe.barrier
	called := false
	if !invert && m&event.Readable != 0 {
		fe.rproc(l, fd, fe.data, fired)
		called = true
		// Re-read everything: the handler may have deleted, replaced or
		// resized (l.events may be a new slice), or the loop may be closed.
		if m = l.registered(fd, gen) & fired; m == event.None || l.isClosed() {
			return
		}
		fe = &l.events[fd]
	}
	if m&event.Writable != 0 && (!called || !fe.both) {
		fe.wproc(l, fd, fe.data, fired)
		called = true
		if !invert {
			return
		}
		if m = l.registered(fd, gen) & fired; m == event.None || l.isClosed() {
			return
		}
		fe = &l.events[fd]
	}
	if invert && m&event.Readable != 0 && (!called || !fe.both) {
		fe.rproc(l, fd, fe.data, fired)
	}
}

// Main runs ProcessEvents(AllEvents|CallBeforeSleep|CallAfterSleep) until
// Stop or RequestStop is called or the loop is closed (aeMain). It clears
// an earlier Stop first, as ae does, but not an earlier RequestStop, which
// makes it return nil at once. It returns nil after the iteration in which
// Stop or RequestStop was seen; an error matching mux.ErrClosed after the
// iteration in which the loop was closed (by a callback or by Close from another goroutine, which
// also ends a blocked poll at once), even if Stop was seen too, or at once
// if it was closed before; or the first other error of ProcessEvents. When Close was called while
// Main ran, the posted functions and finalizers that Close left run on the
// loop goroutine before Main returns.
func (l *Loop) Main() error {
	if !l.enter() {
		return mux.ErrClosed
	}
	defer l.leave()
	l.stop.Store(false)
	end := int64(-1)
	for !l.takeStopRequest() && !l.stop.Load() {
		var err error
		if _, end, err = l.processEventsFrom(AllEvents|CallBeforeSleep|CallAfterSleep, end); err != nil {
			return err
		}
		if l.isClosed() {
			return mux.ErrClosed
		}
	}
	return nil
}

// Stop makes Main return after its current iteration (aeStop). Safe from
// any goroutine, at any time: it wakes a loop blocked in the poll. A Stop
// before Main starts is forgotten, as in ae; a Stop after Close does
// nothing. So from another goroutine, which cannot know whether the loop
// goroutine has reached Main yet, use RequestStop, which is never lost.
func (l *Loop) Stop() {
	l.stop.Store(true)
	_ = l.p.Wake() // ErrClosed only: then there is no loop to wake
}

// SetBeforeSleep sets the hook ProcessEvents calls before polling when its
// flags have CallBeforeSleep (aeSetBeforeSleepProc); nil removes it.
func (l *Loop) SetBeforeSleep(fn func(*Loop)) { l.beforeSleep = fn }

// SetAfterSleep sets the hook ProcessEvents calls right after polling when
// its flags have CallAfterSleep (aeSetAfterSleepProc); nil removes it.
func (l *Loop) SetAfterSleep(fn func(*Loop)) { l.afterSleep = fn }

// SetDontWait makes every poll return at once, as if DontWait were in the
// flags, until it is turned off (aeSetDontWait). The before-sleep hook may
// call it: the timeout is computed after the hook.
func (l *Loop) SetDontWait(on bool) { l.dontWait = on }

// ResizeSetSize changes the set size (aeResizeSetSize). The same size is a
// no-op; a size at or below a registered fd fails with mux.ErrRange and
// changes nothing. It may be called from a handler: entries of the current
// batch whose fd is now out of range are skipped.
func (l *Loop) ResizeSetSize(n int) error {
	if l.isClosed() {
		return mux.ErrClosed
	}
	if n == len(l.events) {
		return nil
	}
	// An fd with Barrier alone is registered with the loop only (as in ae,
	// where it holds a slot): the Poller cannot see it.
	for fd := max(n, 0); fd < len(l.events); fd++ {
		if l.p.Mask(fd) != event.None || l.events[fd].barrier {
			return rangeErr("resize below", fd, len(l.events))
		}
	}
	if err := l.p.Resize(n); err != nil {
		return err
	}
	events := make([]fileEvent, n)
	copy(events, l.events)
	l.events = events
	return nil
}

// SetSize returns the set size: fds must be below it (aeGetSetSize).
func (l *Loop) SetSize() int { return len(l.events) }

// ApiName returns the backend's name: "epoll", "kqueue", "poll" or
// "iocp" (aeGetApiName).
func (l *Loop) ApiName() string { return l.p.Name() }

// Stats returns the loop's counters. Call it on the loop's goroutine; from
// another one, Post a function that reads it.
func (l *Loop) Stats() Stats {
	s := l.stats
	s.Poller = l.p.Stats()
	return s
}

// Close releases the loop (aeDeleteEventLoop): it closes the Poller, then
// runs, once each, the functions accepted by Post that have not run yet
// and the finalizer of every timer not finalized yet (deleted timers
// first, then live ones by id). Registered fds are neither closed nor their
// handlers called. From the moment Close is called, Post, AddEvent,
// AddTimer, DelTimer, ResizeSetSize, ProcessEvents and Main return
// mux.ErrClosed, also inside the posted functions and finalizers that
// Close runs (so it always ends), and no more fd handler or timer callback
// starts (a call racing with a Close from another goroutine may still get
// in first); DelEvent, the getters, the setters, Stats and Stop remain
// harmless.
//
// Close is safe from any goroutine, at any time. Where the posted functions
// and finalizers run depends on what the loop goroutine is doing:
//
//   - Inside a ProcessEvents or Main call (blocked in the poll, running
//     callbacks, or calling Close from one of them): Close closes the
//     Poller, which makes a blocked poll return, and returns without
//     waiting. The loop goroutine skips the rest of its iteration (a
//     callback already running finishes) and runs the posted functions
//     and finalizers just before its outermost ProcessEvents or Main call
//     returns, so they never run concurrently with loop code, and a timer
//     whose callback was running is finalized after that callback
//     returned. Main then returns an error matching mux.ErrClosed: wait for
//     it to know that the loop is done.
//   - Otherwise Close runs them itself, on the calling goroutine, before it
//     returns. Called from another goroutine, it must then not overlap
//     with other methods called on the loop goroutine (AddEvent between
//     two ProcessEvents calls, say): like them, it uses the loop's state.
//
// Close returns every failure of closing the Poller, aggregated with
// go-multierror; errors.Is matches each. When a poll is blocked at that
// moment, the Poller releases its kernel fds as the poll returns, and a
// failure then is not reported. A second Close returns mux.ErrClosed at
// once, even while the first one is still running.
func (l *Loop) Close() error {
	// Refuse new Posts before the loop is marked closed, so that the
	// shutdown that follows sees every function ever accepted.
	l.postMu.Lock()
	l.postClosed = true
	l.postMu.Unlock()
	old := l.state.Or(stateClosed)
	if old&stateClosed != 0 {
		return mux.ErrClosed
	}
	var errs *multierror.Error
	if err := l.p.Close(); err != nil {
		// Append flattens a *multierror.Error from the backend (one error
		// per kernel object that failed to close).
		errs = multierror.Append(errs, err)
	}
	if old&stateInside == 0 {
		l.shutdown()
	}
	return errs.ErrorOrNil()
}

// shutdown runs what Close leaves to run: the posted functions not run yet,
// then the timers' finalizers. It runs once, after the loop was marked
// closed: in Close, or in the loop goroutine's outermost ProcessEvents or
// Main call.
func (l *Loop) shutdown() {
	l.runPosts()
	l.timers.closeAll(l)
}
