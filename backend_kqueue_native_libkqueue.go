//go:build linux && cgo && libkqueue

// The kqueue backend's native layer on Linux, over libkqueue: kqueue(2) and
// kevent(2) implemented in user space on epoll, eventfd and pipes, found
// through pkg-config. Built only with the libkqueue build tag and cgo:
//
//	PKG_CONFIG_PATH=$P/lib/pkgconfig LD_LIBRARY_PATH=$P/lib go test -tags libkqueue ./...
//
// It mirrors backend_kqueue_native_bsd.go; the backend itself is shared.
// How libkqueue differs from the kernels, and what the backend does about
// it, is in the package documentation.

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
