//go:build linux && cgo && libkqueue

// The kqueue backend's native layer on Linux, over libkqueue: kqueue(2) and
// kevent(2) implemented in user space on epoll, eventfd and pipes, found
// through pkg-config. Built only with the libkqueue build tag and cgo:
//
//	PKG_CONFIG_PATH=$P/lib/pkgconfig LD_LIBRARY_PATH=$P/lib go test -tags libkqueue ./...
//
// Backends() is then ["epoll", "kqueue", "poll"]: the same backend code as
// on macOS and the BSDs runs the whole test suite on Linux. This file
// mirrors backend_kqueue_native_bsd.go (the kevent struct, kqueue, kevent,
// the constants); the backend itself is shared.
//
// Where libkqueue and the kernels disagree, the backend is right on both;
// each difference, what the backend does about it, and the test that shows
// it:
//
//	   (difference; kernels; libkqueue; backend; tests)
//	1. EV_RECEIPT in the changelist, with slots to spare in the event list
//	   kernels:   return the receipts alone
//	   libkqueue: then scans, and returns pending events after the receipts;
//	              with none pending it returns 0, the receipts uncounted, and
//	              a signal during that scan fails the call after the changes
//	              were applied
//	   backend:   gives kevent exactly one slot per change, so nothing is
//	              scanned; any entry after the receipts would be read as an
//	              event, never as a receipt, and reported by the next Wait
//	   tests:     TestKqueueReceiptsWithSpareSlots, TestKqueueCtlDrainsNoEvent,
//	              TestKqueueWaitReportsCarried, TestKqSplitReceipts
//	2. An fd closed without Del, its number reused
//	   kernels:   drop the fd's filters at the close: an EV_ENABLE or
//	              EV_DELETE of them answers ENOENT or EBADF
//	   libkqueue: keeps them (it cannot see the close): the EV_ENABLE succeeds
//	              and an EV_ADD of the fd's other filter answers ENOENT
//	   backend:   reads that ENOENT as the close, deletes both filters and
//	              registers the new file; a change that adds no filter (a Del
//	              of part of the mask) deletes and re-adds each kept filter
//	   tests:     RunPoller Register/ClosedWithoutDel, TestReusedFdNumber,
//	              TestReusedFdNumberPartialDel, TestLoopFdClosedBehindItsBack
//	3. The error of a socket (a refused connect)
//	   kernels:   report EV_EOF with the errno and leave SO_ERROR set
//	   libkqueue: reads SO_ERROR to build the event, which clears it
//	   backend:   reports the Error hint as on the kernels; SO_ERROR reads 0
//	              afterwards, so trust the hint (a libkqueue defect)
//	   tests:     RunPoller Readiness/ConnectRefused, which skips its SO_ERROR
//	              check on libkqueue, naming the defect
//	4. The kqueue fd
//	   kernels:   readable while the kqueue has events
//	   libkqueue: the write end of a pipe it watches for the close: never
//	              readable
//	   backend:   Caps.Pollable is false and Fd() is -1
//	   tests:     RunPoller Lifetime/PollerFdWatchable
//	5. Closing the kqueue
//	   kernels:   close(2) frees it at once
//	   libkqueue: a thread notices the close and frees its fds later
//	   backend:   Close waits for that, so it leaks nothing when it returns
//	   tests:     RunPoller Lifetime/CloexecNoLeak, TestOpenCloseLeaksNothing
//	6. Threads and fds of libkqueue's own
//	   kernels:   none
//	   libkqueue: a monitoring thread with an epoll fd and an eventfd from the
//	              first kqueue until exit, a signal thread with a socketpair
//	              and a signalfd, and five fds per kqueue (an epoll fd, a
//	              pipe, eventfds): about a dozen fds for one Poller
//	   backend:   nothing to do; count them in fd budgets. Four of a
//	              Poller's five fds are libkqueue's, closed by libkqueue: a
//	              failure to close them cannot reach Close (a libkqueue defect)
//	   tests:     TestOpenCloseLeaksNothing and TestCreateLoopCloseLeaksNothing
//	              (counted after a first Poller), aeserver's TestAcceptEMFILE,
//	              RunLoop Lifetime/CloseAggregatesErrors, which skips its count
//	              of Close's errors on libkqueue, naming the defect

package mux

/*
#cgo pkg-config: libkqueue
#include <sys/event.h>
#include <time.h>

// Exported by libkqueue (see its src/linux/platform.c) but not declared in
// its header: blocks until libkqueue has freed every kqueue already closed.
void libkqueue_drain_pending_close(void);
*/
import "C"

import (
	"time"

	"golang.org/x/sys/unix"
)

// nativeKevent is libkqueue's struct kevent.
type nativeKevent = C.struct_kevent

// kqTimespec is the struct timespec libkqueue's kevent takes.
type kqTimespec = C.struct_timespec

const (
	// kqFdPollable: libkqueue's kqueue fd is the write end of a pipe that
	// it watches to learn of the close; it never becomes readable, so the
	// Poller offers no pollable fd (Fd() is -1, Caps.Pollable false).
	kqFdPollable = false
	// kqLibkqueue is true: the tests name libkqueue's defects by it.
	kqLibkqueue = true
)

const (
	evfiltRead  = C.EVFILT_READ
	evfiltWrite = C.EVFILT_WRITE
	evfiltUser  = C.EVFILT_USER
	evAdd       = C.EV_ADD
	evDelete    = C.EV_DELETE
	evEnable    = C.EV_ENABLE
	evClear     = C.EV_CLEAR
	evOneshot   = C.EV_ONESHOT
	evEOF       = C.EV_EOF
	evError     = C.EV_ERROR
	evReceipt   = C.EV_RECEIPT
	noteTrigger = C.NOTE_TRIGGER
)

// kqueueOpen creates a kqueue. libkqueue makes every fd it opens
// close-on-exec (its pipe with O_CLOEXEC, its epoll and eventfds likewise).
func kqueueOpen() (int, error) {
	kq, err := C.kqueue()
	if kq < 0 {
		return -1, errnoOf(err)
	}
	return int(kq), nil
}

// keventCall is libkqueue's kevent: it applies changes and fills events,
// waiting up to ts (nil: without limit). It returns the bare errno on
// failure.
func keventCall(kq int, changes, events []nativeKevent, ts *kqTimespec) (int, error) {
	var ch, ev *C.struct_kevent
	if len(changes) > 0 {
		ch = &changes[0]
	}
	if len(events) > 0 {
		ev = &events[0]
	}
	n, err := C.kevent(C.int(kq), ch, C.int(len(changes)), ev, C.int(len(events)), ts)
	if n < 0 {
		return 0, errnoOf(err)
	}
	return int(n), nil
}

// errnoOf returns err, the errno cgo captured, as a unix.Errno (EIO should
// libkqueue fail without setting errno).
func errnoOf(err error) error {
	if e, ok := err.(unix.Errno); ok && e != 0 {
		return e
	}
	return unix.EIO
}

// kqueueClose closes the kqueue fd. libkqueue learns of the close on its
// monitoring thread, which frees the kqueue's own fds (an epoll fd, a pipe
// end, an eventfd per EVFILT_USER) some time later; waiting for that makes
// Close release everything before it returns, as on the kernels.
func kqueueClose(kq int) error {
	err := unix.Close(kq)
	C.libkqueue_drain_pending_close()
	return err
}

// keventSet fills k with a change, zeroing the fields it does not name. The
// udata field, a C pointer, stays nil, so the kevent arrays hold no Go
// pointer and may be passed to C.
func keventSet(k *nativeKevent, ident uint64, filter, flags int, fflags uint32) {
	*k = nativeKevent{}
	k.ident = C.uintptr_t(ident)
	k.filter = C.short(filter)
	k.flags = C.ushort(flags)
	k.fflags = C.uint(fflags)
}

// keventGet reads a returned event.
func keventGet(k *nativeKevent) (ident uint64, filter, flags int, fflags uint32, data int64) {
	return uint64(k.ident), int(k.filter), int(k.flags), uint32(k.fflags), int64(k.data)
}

// setTimespec sets ts to d (d >= 0).
func setTimespec(ts *kqTimespec, d time.Duration) {
	ts.tv_sec = C.time_t(d / time.Second)
	ts.tv_nsec = C.long(d % time.Second)
}
