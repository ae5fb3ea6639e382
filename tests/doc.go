// Package tests is the conformance suite of aemux: exported functions that
// take a constructor and check, one named subtest per scenario, what every
// backend must show. RunPoller checks a mux.Poller, RunLoop an
// aeloop.Loop; the scenarios are listed below. RunConn checks the
// connection layer, package aeconn, on Servers of a given backend and mode;
// its scenarios are listed in its own documentation.
//
// The package's own tests run both suites once per name in mux.Backends()
// (epoll and poll on Linux, epoll, kqueue and poll there with -tags
// libkqueue, kqueue and poll on macOS and the BSDs, iocp on Windows, which
// CI runs under Wine). Code
// that wraps or configures a Poller can run the same suites on its own
// constructor from any test. The constructor takes the suite's options as
// well as the set size, and must pass them on (the mode scenarios open
// their Pollers through it with mux.WithMode):
//
//	func TestMyPoller(t *testing.T) {
//		tests.RunPoller(t, func(setsize int, opts ...mux.Option) (*mux.Poller, error) {
//			return mux.Open(setsize, append([]mux.Option{mux.WithBackend("poll")}, opts...)...)
//		})
//	}
//
// Subtests are named group/scenario; pick a group or one scenario with
// -run: go test -run 'TestPoller/poll/Register/' or
// -run 'TestLoop/epoll/Timers/DueOrder'.
//
// # RunPoller's scenarios
//
// Register, the mask table and what reaches the kernel (counted by the
// Registers, Modifies and Deregisters fields of mux.Stats):
//   - AddReadThenWrite: Add(Readable) registers once, Add(Writable) then
//     modifies once, and both directions are reported.
//   - AddSameMaskTwice: adding bits already registered changes nothing and
//     makes no kernel call.
//   - DelPartOfMask: deleting one bit modifies and the other keeps firing;
//     deleting the last deregisters and silences the fd; a later Add is a
//     fresh registration.
//   - DelUnregistered: deleting bits that are not registered is no error
//     and makes no kernel call.
//   - BadInput: fds out of range (ErrRange), unknown or report-only mask
//     bits and Barrier, which is aeloop's (ErrBadMask), an Add of a closed
//     fd (the kernel's EBADF), an empty fired slice and a closed Poller
//     (ErrClosed) each get their own error, and nothing changes; a Del of
//     all the bits of an fd closed before it succeeds and clears it.
//   - NotPollable: a regular file and a directory are refused with
//     ErrNotPollable.
//   - ClosedWithoutDel: an fd closed while registered is reported at most
//     once and does not make Wait spin; a new file under its number reports
//     only its own interest.
//   - Resize: growing admits higher fds; shrinking below a registered fd is
//     refused and changes nothing; shrinking above it keeps it.
//   - ManyFds: 10,000 registered fds numbered above 1024, written at random
//     from several goroutines: every event reaches the right fd, none is
//     lost or invented.
//
// Readiness, on socketpairs, pipes and TCP and UDP sockets on 127.0.0.1:
//   - FreshSocketpair: nothing is reported until a write; then the peer is
//     Readable, once per Wait.
//   - LevelPartialRead: a partial read leaves the fd Readable; a full drain
//     clears it.
//   - WritableUntilFull: a connected socket is Writable until filled to
//     EAGAIN, and again once its peer drains (AF_UNIX and TCP).
//   - ReadWriteTogether: an fd ready both ways is one entry with both bits,
//     whether registered in one Add or two.
//   - PeerCloses: a pipe writer's close, an AF_UNIX peer's close or
//     shutdown, a TCP peer's shutdown, close or reset make the fd Readable,
//     with the Hangup hint where Caps says the backend gives it.
//   - Listener: a listener is Readable while connections are pending.
//   - ConnectRefused: a refused non-blocking connect is Writable (with the
//     Error hint where Caps says so) and SO_ERROR is ECONNREFUSED.
//   - UDP: Readable while datagrams are queued, not after they are read.
//   - MoreReadyThanFired: with more ready fds than the fired slice holds,
//     later Waits deliver the rest; no fd starves.
//
// Modes, opened through the constructor with mux.WithMode:
//   - Edge: one report per arrival; a partial read does not re-report.
//     Where Caps has no Edge, open must fail with errors.ErrUnsupported.
//   - Oneshot: one report, then silence until the next Add re-arms.
//
// Wait:
//   - TimeoutZero: Wait(0) never blocks and still returns ready fds.
//   - TimedWaitNeverEarly: a timed Wait never returns before its timeout.
//   - WakeBeforeWait: a Wake before Wait makes the next Wait return at once
//     with no entry; many Wakes collapse into one return.
//   - WakeStorm: Wakes from 64 goroutines while Wait blocks, round after
//     round: every round returns.
//   - Signals: SIGUSR1 hitting the waiting thread neither surfaces EINTR nor
//     loses an event nor moves the deadline.
//
// Lifetime:
//   - CloseUnblocksWait: Close from another goroutine ends a blocked Wait
//     with ErrClosed; every later call gets ErrClosed; of concurrent Closes
//     exactly one succeeds.
//   - CloexecNoLeak: the Poller's own fds are close-on-exec and Close
//     releases them all, also while a Wait runs.
//   - WaitAllocs: Wait and Wake allocate nothing.
//   - PollerFdWatchable: a Poller's own fd (where Caps.Pollable) is Readable
//     in another Poller while the first has an event; else Fd() is -1.
//
// # RunLoop's scenarios
//
// Files, the file events of AddEvent and DelEvent and their dispatch:
//   - AddEventRange: fds outside the set size are refused with ErrRange
//     (matching ERANGE too) and change nothing; a resize admits them.
//   - AddEventMergesMasks: masks merge; GetEvents returns Barrier too (so 7
//     is possible); bits already registered, and Barrier, need no kernel
//     call.
//   - AddEventBadInput: report-only or unknown bits (ErrBadMask), a nil
//     handler (ErrNilFunc), a regular file or directory (ErrNotPollable)
//     and a closed fd (EBADF) are refused and store nothing.
//   - ClientData: one slot per fd, overwritten by every AddEvent, gone with
//     the last bit.
//   - DelEvent: deleting Barrier alone makes no kernel call; deleting
//     Writable deletes Barrier too; deleting nothing or out of range is a
//     no-op; a closed fd's DelEvent still clears the table.
//   - HangupReachesReadHandler: a peer's shutdown runs the read handler.
//   - ReadBeforeWrite: the read handler runs before the write handler, both
//     with the fired mask.
//   - BarrierWriteFirst: with Barrier the write handler runs first; Barrier
//     goes away with Writable.
//   - OneProcForBoth: one AddEvent for both bits runs its handler once per
//     event; two AddEvent calls are two handlers.
//   - HandlerDeletesOwnBit, HandlerDeletesOtherFd, DelThenReAddInBatch: a
//     handler's DelEvent and AddEvent take effect for the rest of the batch;
//     a stale entry never reaches a handler added after it.
//   - NestedFromFileHandler: a ProcessEvents nested in a file handler does
//     not disturb the outer batch, whichever fd the backend reports first.
//   - ResizeInHandler: shrinking below registered fds is refused; a handler
//     may shrink once they are deleted, and later entries are skipped.
//
// Process, the flags and order of ProcessEvents:
//   - NoFileNoTime: without FileEvents or TimeEvents nothing runs or polls.
//   - DontWait: DontWait (the flag, or SetDontWait) never blocks.
//   - FileOnlyIgnoresTimers, TimeOnlyRunsNoFileHandler: each flag alone
//     runs only its kind.
//   - PollOnlyWhenNeeded: no poll (nor before-sleep hook) without an fd or
//     a wait; a registered fd makes even a DontWait call poll.
//   - Order: before-sleep, poll, after-sleep, file handlers, timers; hooks
//     only with their flags.
//   - TimeoutAfterBeforeSleep: the poll's timeout is computed after the
//     before-sleep hook.
//   - NoAllocs: ProcessEvents with Post allocates nothing in steady state.
//   - Stats: the loop's counters and times move as the calls did.
//
// Timers:
//   - Ids: ids count up from 0 and are never reused; DelTimer of an unknown
//     id is ErrNoTimer.
//   - DueOrder: timers run in due order; timers due at once in creation
//     order.
//   - PassRule: a timer made during a timer pass runs in a later pass; one
//     made by a file handler, hook or posted function in the same call.
//   - Reschedule: a returned delay counts from the return; NoMore stops the
//     timer and runs its finalizer; a zero delay runs in the next call.
//   - NegativeAndHugeDelays: negative delays run at once; huge ones neither
//     overflow nor spin.
//   - NeverEarly: a timer never runs before its delay, and one blocking
//     call runs it.
//   - SelfDelete, DeleteWhileRunningNested: a timer deleted while its
//     callback runs is finalized after it returns and never runs again.
//   - FinalizerOnce, FinalizerAddsTimer: every finalizer runs once, at the
//     next timer pass or in Close; a timer a finalizer adds survives, except
//     during Close.
//   - OnlyDeletedTimers: deleted timers neither shorten the poll nor make
//     Main spin.
//
// Lifetime, Stop and Close:
//   - StopBeforeMainIgnored, StopFromHandler, StopFromGoroutine: Main
//     clears an earlier Stop, ends its current iteration after Stop, and
//     returns on a Stop from any goroutine.
//   - Close, CloseFromTimer: Close runs every finalizer and posted function
//     once, never a file handler, closes no registered fd; every later call
//     gets ErrClosed.
//   - CloseAggregatesErrors: with the loop's own fds closed behind its
//     back, Close reports every one of the failures (one EBADF per fd,
//     aggregated with go-multierror), and still finalizes.
//   - CloseFromGoroutineWhileBlocked, CloseFromGoroutineWhileHandling,
//     CloseFromGoroutineWhileIdle: Close from another goroutine ends Main
//     with ErrClosed; finalizers and posted functions run once, on the loop
//     goroutine, or in Close when no ProcessEvents runs.
//   - ApiNameAndSetSize: ApiName names the backend; a set size below 1 is
//     ErrRange.
//
// Post:
//   - ManySenders: posted functions run once each, in order per sender, on
//     the loop goroutine.
//   - WakesBlockedLoop: a Post wakes a blocked ProcessEvents.
//   - NextIteration: a function posted by a posted function runs in the
//     next call.
//   - RacingClose: every Post that returned nil ran once; after the first
//     ErrClosed every Post gets ErrClosed.
//
// Wait, aeloop.Wait on one fd:
//   - SingleFd: readiness, timeouts that never end early, a hang-up
//     reported as Writable, and errors for a closed fd (EBADF), a
//     negative fd (ErrRange) and Barrier (ErrBadMask).
//   - SingleFdEINTR: signals end neither aeloop.Wait nor a poll early.
//
// # What a pass means
//
// The suite has no false positives: every failure is a broken promise of
// the API (an event lost, invented or reported twice, an error not matching
// its sentinel, a Wait that returned early, spun, leaked an fd or
// allocated). Timing checks are one-sided so that a slow or loaded machine
// does not fail it: a timed Wait must never end early, while lateness is
// only logged, or bounded loosely. It may have false negatives: a race that
// did not happen in this run, or a kernel path a test could not reach,
// passes unnoticed. Run it with -race: the Wake and Close properties are
// fully checked only under the race detector.
//
// Where a backend lacks a feature by nature (edge-triggered mode on poll),
// the suite checks that the backend says so (Caps, errors.ErrUnsupported)
// rather than skipping; the Hangup and Error hints are required only where
// Caps reports them.
//
// # When a subtest skips
//
// A subtest skips, saying why, in exactly these cases:
//   - Register/ManyFds, when the hard RLIMIT_NOFILE leaves room for fewer
//     than 2,048 more fds (it raises the soft limit to the hard one first,
//     and registers fewer than 10,000 when that is all there is room for).
//   - Readiness/ConnectRefused, when the kernel refuses the connect to
//     127.0.0.1 at once instead of reporting it through readiness.
//   - Lifetime/CloseAggregatesErrors, when opening a loop adds no fd or more
//     than five to the process, so the loop's own fds cannot be told apart.
//   - On kqueue over libkqueue (Linux, -tags libkqueue), for a defect of
//     libkqueue that backend_kqueue_native_libkqueue.go lists, after every
//     check it allows:
//     Readiness/ConnectRefused (libkqueue clears SO_ERROR) and
//     Lifetime/CloseAggregatesErrors (four of the loop's five fds are
//     libkqueue's, closed by libkqueue, so their failures cannot reach
//     Close). Both run in full on every other backend.
//
// On Windows also (the reasons are in sys_windows.go's platformSkips, and
// each skip prints its own):
//   - Register/Resize: the set size bounds how many sockets are registered
//     there, not their handle values; the mux package's
//     TestIOCPSetSizeBoundsSockets checks that meaning.
//   - Register/ManyFds: 10,000 loopback TCP connections are 20,000
//     sockets, and Wine keeps a Linux fd for each in its one wineserver
//     process, beyond the 20,000 fds a process may have on the CI machine.
//   - Wait/Signals and Wait/SingleFdEINTR: Windows has no signals.
//   - Lifetime/CloexecNoLeak: the Go runtime opens handles of its own at
//     any moment (one per new thread), so comparing the handle table before
//     and after cannot single out the Poller's; the mux package's
//     TestIOCPOpenCloseLeaksNothing counts handles over 1,000 Opens and
//     Closes instead.
//   - Register/ClosedWithoutDel and TestLoopFdClosedBehindItsBack, only
//     when the closed socket's handle value does not come back in 64 new
//     sockets (another handle took it).
//
// Every other subtest runs on every backend, or fails.
//
// # On Windows
//
// The scenarios are the same, on sockets: a socketpair and a pipe are both
// a loopback TCP connection there (Windows has no socketpair(2), and its
// pipes cannot be polled), so the pipe cases (a writer's close) check a TCP
// peer's close; EAGAIN and EINPROGRESS are WSAEWOULDBLOCK, close-on-exec
// is "not inherited", and a regular file and a directory are opened with
// CreateFile. Some checks are adapted to Wine, the Windows that CI runs:
// the machine's own timed block that timed Waits are compared with is a
// wait on an event (a wineserver round trip, like the Poller's), and a
// Wait's best overshoot may exceed its worst by 100 ms instead of 20 (each
// Wait is a few such round trips, all delayed on a loaded machine); and as
// a request in flight under Wine learns of a send from wineserver a moment
// after it, where a poll that does not wait can miss it (Windows, like
// unix, sees it at once), Process/Order lets its last poll wait and
// Wait/TimeoutZero repeats its Wait(0) until the report is there (within
// 2 s; each Wait(0) still must not block).
//
// Each subtest runs on fresh fds under a watchdog: after 10 s it fails and
// closes the subtest's Pollers and stops and wakes its loops, so that a
// stuck Wait returns; if the subtest is still running 5 s later, the
// watchdog panics so that the test binary prints every goroutine instead
// of hanging.
package tests
