// Package aeloop is Redis's ae event loop in Go: fd handlers, timers,
// before- and after-sleep hooks, Main and Stop, on top of a mux.Poller
// (epoll, kqueue, poll or iocp). C code written against ae ports to it almost
// line by line; the constants keep ae's values.
//
// One goroutine drives a Loop, through Main or ProcessEvents, and every
// callback runs on it, so handlers need no locks. Other goroutines talk to
// the loop through Post, RequestStop, Stop and Close, which wake it when it
// is blocked.
//
// See Example for an echo over a socketpair, ExampleLoop_AddTimer for a
// periodic timer and ExampleLoop_Post for work handed in from another
// goroutine.
//
// # Porting from ae
//
//	ae (ae.h)                          aeloop
//	aeCreateEventLoop(setsize)         CreateLoop(setsize, opts...)
//	aeDeleteEventLoop(el)              (*Loop).Close() error
//	aeMain(el)                         (*Loop).Main() error
//	aeStop(el)                         (*Loop).Stop(); from another goroutine RequestStop()
//	aeProcessEvents(el, flags)         (*Loop).ProcessEvents(flags) (int, error)
//	aeCreateFileEvent(el, fd, m, p, d) (*Loop).AddEvent(fd, mask, proc, clientData) error
//	aeDeleteFileEvent(el, fd, m)       (*Loop).DelEvent(fd, mask)
//	aeGetFileEvents(el, fd)            (*Loop).GetEvents(fd) Mask
//	aeGetFileClientData(el, fd)        (*Loop).GetClientData(fd) any
//	aeCreateTimeEvent(el, ms, p, d, f) (*Loop).AddTimer(ms*time.Millisecond, proc, clientData, fin) (int64, error)
//	aeDeleteTimeEvent(el, id)          (*Loop).DelTimer(id) error
//	aeSetBeforeSleepProc(el, p)        (*Loop).SetBeforeSleep(fn)
//	aeSetAfterSleepProc(el, p)         (*Loop).SetAfterSleep(fn)
//	aeSetDontWait(el, noWait)          (*Loop).SetDontWait(on)
//	aeGetSetSize(el)                   (*Loop).SetSize() int
//	aeResizeSetSize(el, setsize)       (*Loop).ResizeSetSize(n) error
//	aeGetApiName()                     mux.DefaultBackend() (string, error); per loop (*Loop).ApiName() string
//	aeWait(fd, mask, ms)               Wait(fd, mask, timeout) (Mask, error)
//	aeFileProc                         FileProc
//	aeTimeProc                         TimeProc (returns a time.Duration: return ms * time.Millisecond)
//	aeEventFinalizerProc               Finalizer
//	aeBeforeSleepProc                  func(*Loop)
//	AE_OK / AE_ERR, errno              nil / an error; errors.Is matches the sentinel or errno
//	AE_NONE, AE_READABLE, AE_WRITABLE  None, Readable, Writable (package event's constants)
//	AE_BARRIER                         Barrier
//	AE_FILE_EVENTS, AE_TIME_EVENTS     FileEvents, TimeEvents
//	AE_ALL_EVENTS, AE_DONT_WAIT        AllEvents, DontWait
//	AE_CALL_BEFORE_SLEEP               CallBeforeSleep
//	AE_CALL_AFTER_SLEEP                CallAfterSleep
//	AE_NOMORE                          NoMore
//	void *clientData                   any
//	(no equivalent)                    (*Loop).Post(fn), (*Loop).Stats()
//
// The trap of a line-by-line port is the unit: aeCreateTimeEvent(el, 100,
// ...) and a timeProc's "return 100;" mean 100 ms, but AddTimer(100, ...)
// and "return 100" compile and mean 100 ns, since an untyped constant is a
// valid time.Duration. Write 100 * time.Millisecond; the vet check
// cmd/aeloopvet (go vet -vettool=$(which aeloopvet)) finds the constants
// that slipped through. examples/aewrk is a whole ae program ported this
// way, wrk's event core, beside anet's client calls (Resolve, Pending).
//
// An fd's interest lives in one place, the Poller's per-fd record (ae's
// events[fd].mask, Readable and Writable), with the generation of its
// registration (mux.Poller.Registration); the Loop keeps only the
// handlers, the client data and Barrier, in its own fd-indexed slice, and
// asks the Poller for the rest. GetEvents is the Poller's mask plus the
// loop's Barrier.
//
// # Differences from ae, and why
//
// Errors. Functions return errors instead of AE_ERR and errno, and nothing
// panics on bad input. AddEvent with fd >= SetSize fails with an error
// matching both mux.ErrRange and syscall.ERANGE (ae's errno); negative fds,
// which ae does not check, get the same error. Unknown mask bits are
// mux.ErrBadMask; regular files and directories are mux.ErrNotPollable on
// every backend. A nil handler, timer procedure or posted function is
// ErrNilFunc (ae would crash when calling it). DelTimer of an unknown or
// already deleted id is ErrNoTimer. After Close, methods return
// mux.ErrClosed.
//
// Poll failures are returned. ae aborts the process when the multiplexer
// fails with anything but EINTR (redis#8749); ProcessEvents and Main
// return the error instead. EINTR is retried inside the Poller with the
// time that remains, so it never surfaces and never ends a wait early.
//
// Durations instead of milliseconds. Delays are time.Duration on the
// monotonic clock. The poll timeout keeps sub-millisecond precision where
// the kernel allows (epoll_pwait2 on Linux 5.11+, ppoll, kevent's timespec;
// elsewhere it is rounded up to whole milliseconds), and a timer never runs
// before it is due: ae's truncation to milliseconds made it poll with a
// zero timeout until the timer was due (redis#8764). Long delays do not
// overflow (ae's did past about 35 minutes, redis#12474): due times
// saturate at the far future. A delay of zero or less means "due now";
// negative delays are not earlier than zero ones, so timers due at once run
// in creation order.
//
// Timers in a heap. ae keeps timers in an unsorted list, scans all of them
// on every pass and runs the due ones newest first. aeloop keeps them in a
// 4-ary min-heap ordered by (due time, id): due ones run in due order, and
// in creation order among equal due times. Adding, deleting and running a
// timer is O(log n), so a million pending timers are fine. DelTimer takes
// the timer out of the heap at once (O(log n)), so deleted timers never
// shorten the poll timeout (ae's did, redis#11069) and a loop holding only
// deleted timers neither spins nor crashes (redis#13992, valkey#4349).
//
// The pass rule is ae's: a pass runs the timers due at its start that
// existed before it started. A timer created by a timer callback or a
// finalizer waits for the next ProcessEvents call even with a zero delay;
// one created by an fd handler, a hook or a posted function runs in the
// current call. A callback returning d is due d after it returned, and it
// never runs twice in one pass.
//
// Timers and nesting. While its callback runs, a timer is out of the heap,
// so a ProcessEvents nested in the callback never re-enters it (ae's can,
// and counts references to survive it, redis#7253). DelTimer from inside
// the callback, or from anything it calls, deletes it: the returned delay
// no longer revives it. Finalizers run exactly once per timer and never
// while its callback runs: for a timer deleted by DelTimer while idle, at
// the next timer pass, as in ae; for a timer that returned NoMore or was
// deleted while running, as soon as its callback returns (ae waits for the
// next pass). A finalizer may create timers; they are kept.
//
// Stale fd events are dropped. Once DelEvent removes the last of an fd's
// interest during a batch, the entries of that batch still pending for it
// are dropped, even if a handler adds the same fd number again: no event
// is delivered to a handler after DelEvent returned. ae delivers the stale
// event to the new handler (redis#333, redis#4877); libuv drops it.
//
// "One proc serves both" needs one AddEvent call. ae calls a proc once when
// it is both the read and the write handler of an fd that fired both ways,
// comparing the two function pointers. Go cannot compare funcs, so aeloop
// calls the handler once only when Readable and Writable were registered
// together by a single AddEvent call (mask with both bits). Registering the
// same func in two calls, or replacing one direction later, gives two
// handlers, called one after the other.
//
// Barrier and deletion follow ae: Barrier runs the write handler before the
// read handler; DelEvent of Writable removes Barrier too; GetEvents
// returns the raw mask, Barrier included (so 7 is possible). Barrier lives
// in the loop's own per-fd record, as AE_BARRIER lives in ae's
// aeFileEvent.mask; the loop's Poller registers and keeps Readable and
// Writable only, and the loop asks it for them. Like Valkey
// (valkey#725), DelEvent trims the mask to what is registered and calls the
// kernel only when Readable or Writable actually change; kernel errors on
// delete are ignored as in ae (the fd may be closed already). DelEvent
// ignores Hangup, Error and unknown bits. AddEvent with mask None on an
// unregistered fd stores nothing (ae stores the client data, which it then
// never returns).
//
// ResizeSetSize from a handler is safe: entries of the current batch whose
// fd is now out of range are skipped (ae reads past its table).
//
// Handlers see the fired mask: Readable and/or Writable, plus the Hangup
// and Error hints where the backend reports them (see package event).
// Entries are dispatched in backend order; each fd appears at most once
// per poll. A poll fills at most 4,096 entries (ae: setsize); the rest come
// with the next poll, and no fd starves.
//
// Nested ProcessEvents calls get their own fired buffer, so a handler that
// runs the loop (as Redis's processEventsWhileBlocked does) does not
// overwrite the batch its caller is dispatching (ae shares one array).
//
// Stop, Post and Close work from any goroutine. Stop sets a flag and wakes
// the loop (Poller.Wake), so Main returns after the current iteration even
// when the loop was blocked. A Stop before Main is forgotten, as in ae:
// Main clears the flag first. RequestStop is the stop for other
// goroutines: it is kept until a Main returns for it, so it is never lost
// to that race. Post queues a function for the loop
// goroutine; see Post for the guarantees.
//
// Close (aeDeleteEventLoop) also runs the functions already posted and
// every finalizer not run yet. Unlike ae's aeDeleteEventLoop, which must
// not run while aeMain does, it may be called from any goroutine at any
// time, a callback included; Close's own documentation gives the rules:
// what it runs, where and when, and what every method returns afterwards.
//
// Wait (aeWait) retries EINTR with the time that remains, reports a closed
// fd (POLLNVAL) as an error matching unix.EBADF where ae returns 0, adds
// the Hangup and Error hints to ae's Writable for POLLHUP and POLLERR, and
// never ends before its timeout (it is mux.WaitFd, with ae's mapping).
//
// ApiName is "epoll", "kqueue", "poll" or "iocp", per loop; ae's evport and select
// backends do not exist here. CreateLoop takes mux options: WithBackend
// picks the backend, and WithMode should stay at its default, Level, which
// is the only mode ae's rules were written for.
//
// # Edge-triggered handlers
//
// With mux.WithMode(mux.Edge) an fd is reported once per change, not at
// every poll while it stays ready, so a read handler must not leave input
// behind without a way back to it: read until EAGAIN, or take a short read
// as "nothing left" only when the fired mask has no Hangup. A peer that
// sends a request and closes (or shuts down its side) at once delivers the
// data and the FIN in one event: a short read takes the data, the end of
// stream is still queued, and no event will report it again. A handler
// that then stops reading leaves the socket in CLOSE_WAIT for good. So when
// Hangup is in the mask, keep reading (now, or from a hook before the next
// poll, with SetDontWait) until read returns 0 or an error. The same holds
// for a handler that stops reading for a while (output back-pressure):
// remember the Hangup. Every backend with Edge (epoll, kqueue) reports it
// (mux.Caps.HalfClose); cmd/aeserver's client.moreToRead follows this.
//
// # ProcessEvents, step by step
//
// ProcessEvents follows ae's aeProcessEvents, with posted functions added
// between the fd handlers and the timers; its documentation lists the
// steps. It returns the number of fired fd entries processed (including
// those whose handlers were skipped because an earlier handler removed
// them) plus the number of timer callbacks run; posted functions are not
// counted.
//
// # Windows
//
// The loop runs on Windows over mux's iocp backend, with the same API: an
// fd is a SOCKET handle. Its handler table is indexed by fd there too, as
// ae's events[fd] is, so SetSize must be above the largest handle value
// the loop watches (Windows handles are multiples of 4, typically in the
// hundreds or low thousands for a server's sockets); AddEvent refuses a
// larger one with mux.ErrRange, and ResizeSetSize makes room. aeloop.Wait
// is WSAPoll on the one socket. Windows has no signals, so nothing is
// interrupted with EINTR; timers follow the monotonic clock, which moves in
// steps of about 1 ms there (a timer pass still starts strictly after the
// previous one, so a zero delay runs in the next call).
//
// # Concurrency
//
// Only Stop, RequestStop, Post and Close may be called from goroutines
// other than the one running the loop, at any time. Everything else, Stats included,
// belongs to the loop's goroutine, or to code running on it: handlers,
// timers, hooks, finalizers and posted functions. To read Stats from
// elsewhere, Post a function that sends them on a channel.
//
// Close from another goroutine has rules of its own (see Close): in short,
// wait for Main (or ProcessEvents) to return before closing the fds its
// handlers use.
//
// Each ProcessEvents call costs two atomic operations for this (one to
// enter, one to leave) and takes the Post mutex only when something was
// posted.
//
// # Cost
//
// A steady-state ProcessEvents allocates nothing: the fired buffers are
// preallocated, timers are rescheduled in place, and the Post queue is two
// slices swapped under a mutex. AddTimer allocates one small object (and,
// now and then, room in the id index).
//
// # Running a loop on a dedicated thread
//
// A busy loop goroutine never blocks in the Go scheduler, only in the
// kernel. Left alone, Go's sysmon would preempt it every 10 ms and then take
// its P whenever it is in a system call, which resets sysmon to waking every
// 20 µs: on a server pinned to one CPU that costs several percent of the CPU
// in thread switches. So ProcessEvents yields (runtime.Gosched) before
// polling when at least 8 ms have passed since it last did, 2 ms before
// sysmon's deadline so that a long batch of handlers does not overrun it.
// On a goroutine locked to its thread (runtime.LockOSThread) a yield costs
// 5 to 30 µs here, so at most about 0.4% of the loop's time, and five futex
// calls: the thread hands its P to another thread, which hands it back.
// Under redis-benchmark -c 50 -P 1 against cmd/aeserver that was 0.011
// futex calls per request with a yield every 5 ms and is 0.007 with 8 ms
// (2 vCPUs, Linux 6.18, 2026-11-30); no preemption signal was sent with
// either.
//
// On Linux every timed wait also ends up to the thread's timer slack late,
// 50 µs by default. A loop on a locked thread that wants its timers on time
// can lower it: unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0).
//
// Lock loops to threads only while there are no more busy loops than
// GOMAXPROCS. Then each loop has a P and a thread to itself, and locking
// costs nothing. With more loops than Ps, a locked goroutine woken from the
// poll must wait for a P to be handed to its own thread (a futex wake and a
// thread switch every time), where an unlocked one runs on whichever
// thread holds a P. BenchmarkLoopThreads, pairs of loops passing a byte
// back and forth (one op is a round trip; medians of 16 interleaved runs on
// 2 vCPUs, GOMAXPROCS 2, Linux 6.18, shared with other work, 2026-11-30):
//
//	loops  locked: time, CPU   not locked: time, CPU
//	2      16.2 µs, 12.9 µs    17.1 µs, 13.0 µs      no significant difference
//	8      22.9 µs, 18.1 µs    18.1 µs, 14.5 µs      locked: +26% time, +25% CPU
//
// examples/aewrk follows the rule (its --lock auto).
package aeloop
