//go:build darwin || dragonfly || freebsd || netbsd || openbsd

// The kqueue backend's native layer on the kernels that have kqueue: the
// kevent struct, kqueue(2), kevent(2) and the constants, from x/sys/unix.
// backend_kqueue_native_libkqueue.go is the same layer over libkqueue on
// Linux; everything else about the backend is shared.

package mux

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// nativeKevent is the native struct kevent. Field types differ per OS
// (netbsd's Filter and Flags are uint32, the others' int16 and uint16),
// hence keventSet and keventGet.
type nativeKevent = unix.Kevent_t

// kqTimespec is the native struct timespec kevent takes.
type kqTimespec = unix.Timespec

const (
	// kqFdPollable: a kernel kqueue fd is readable while it has events.
	kqFdPollable = true
	// kqLibkqueue is false: these are the kernels' own kqueues.
	kqLibkqueue = false
)

const (
	evfiltRead  = unix.EVFILT_READ
	evfiltWrite = unix.EVFILT_WRITE
	evAdd       = unix.EV_ADD
	evDelete    = unix.EV_DELETE
	evEnable    = unix.EV_ENABLE
	evClear     = unix.EV_CLEAR
	evOneshot   = unix.EV_ONESHOT
	evEOF       = unix.EV_EOF
	evError     = unix.EV_ERROR
	// evReceipt is EV_RECEIPT, 0x40 on all five systems; x/sys/unix does
	// not define it for netbsd.
	evReceipt = 0x40
)

// kqueueOpen creates a close-on-exec kqueue. x/sys/unix has no kqueue1
// (netbsd, openbsd) or kqueuex (freebsd 14) wrapper, so the flag is set
// after kqueue(2) under ForkLock, as Go's os package does, so that no fork
// in between inherits the fd.
func kqueueOpen() (int, error) {
	syscall.ForkLock.RLock()
	kq, err := unix.Kqueue()
	if err == nil {
		unix.CloseOnExec(kq)
	}
	syscall.ForkLock.RUnlock()
	return kq, err
}

// keventCall is kevent(2): it applies changes and fills events, waiting up
// to ts (nil: without limit). It returns the bare errno on failure.
func keventCall(kq int, changes, events []nativeKevent, ts *kqTimespec) (int, error) {
	return unix.Kevent(kq, changes, events, ts)
}

// kqueueClose closes the kqueue fd.
func kqueueClose(kq int) error { return unix.Close(kq) }

// keventSet fills k with a change, zeroing the fields it does not name.
func keventSet(k *nativeKevent, ident uint64, filter, flags int, fflags uint32) {
	*k = unix.Kevent_t{}
	unix.SetKevent(k, int(ident), filter, flags)
	k.Fflags = fflags
}

// keventGet reads a returned event.
func keventGet(k *nativeKevent) (ident uint64, filter, flags int, fflags uint32, data int64) {
	return uint64(k.Ident), int(k.Filter), int(k.Flags), uint32(k.Fflags), int64(k.Data)
}

// setTimespec sets ts to d (d >= 0).
func setTimespec(ts *kqTimespec, d time.Duration) { *ts = unix.NsecToTimespec(int64(d)) }
