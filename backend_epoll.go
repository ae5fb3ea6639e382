//go:build linux

// The epoll backend: Redis's ae_epoll.c in Go. The Poller's mask table says
// whether the kernel already watches an fd, so ctl picks EPOLL_CTL_ADD, MOD
// or DEL from the old and new masks exactly as aeApiAddEvent and
// aeApiDelEvent do. A wait with no timeout or a whole number of
// milliseconds uses epoll_wait; any other uses epoll_pwait2 (Linux 5.11+, a
// timespec timeout) when the kernel has it, else epoll_wait with the timeout
// rounded up to whole milliseconds so that it never ends early (redis#8764).
//
// A wait that may block uses Syscall6, which tells the Go scheduler the
// thread may sleep (entersyscall/exitsyscall: about 0.18 µs of CPU per call
// on the 2-core AMD EPYC VM bench/ reports on, 2026-11-30; anet's Read and
// Write refer to this figure); a wait that cannot (a zero timeout)
// uses RawSyscall6 and skips that. After a wait that filled the whole fired
// slice more is probably ready, so the next wait first peeks with a
// zero-timeout RawSyscall6 and makes the blocking call only when the peek
// finds nothing. Otherwise it blocks at once: an empty peek is a whole
// extra system call (about 0.5 µs there), and under redis-benchmark an
// always-peeking aeserver found nothing in 27% of its peeks at -c 50 -P 1
// and 25% at -P 16 (bench/README.md), where the peek's saving and its cost
// came out even in CPU time but not in system calls.

package mux

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/hashicorp/go-multierror"
	"golang.org/x/sys/unix"

	"github.com/aemux/mux/event"
)

var _ backend = (*epollBackend)(nil)

func init() { register(nameEpoll, wakerKind, openEpoll) }

type epollBackend struct {
	epfd   int
	flags  uint32 // EPOLLET or EPOLLONESHOT, from the mode
	pwait2 bool
	full   bool // the last wait filled the fired slice: peek first
	w      *waker
	events []unix.EpollEvent
	ctlEv  unix.EpollEvent // kept here so that ctl does not allocate
	ts     unix.Timespec
}

func openEpoll(setsize int, mode Mode) (backend, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, syscallErr("epoll_create1", err)
	}
	b := &epollBackend{epfd: epfd, events: make([]unix.EpollEvent, 64)}
	switch mode {
	case Edge:
		b.flags = unix.EPOLLET
	case Oneshot:
		b.flags = unix.EPOLLONESHOT
	}
	if b.w, err = newWaker(); err != nil {
		unix.Close(epfd)
		return nil, err
	}
	// The waker stays level-triggered whatever the mode: it is readable
	// until wait drains it.
	b.ctlEv = unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(b.w.fd())}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, b.w.fd(), &b.ctlEv); err != nil {
		b.close()
		return nil, syscallErr("epoll_ctl", err)
	}
	// Probe epoll_pwait2 once. ENOSYS: kernel before 5.11; EPERM: a seccomp
	// filter that does not know it (older container runtimes).
	_, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT2, uintptr(epfd),
		uintptr(unsafe.Pointer(&b.events[0])), 1, uintptr(unsafe.Pointer(&b.ts)), 0, 0)
	b.pwait2 = errno == 0
	return b, nil
}

func (b *epollBackend) caps() Caps {
	c := Caps{Edge: true, Oneshot: true, Hangup: true, HalfClose: true, Error: true,
		Pollable: true, Resolution: time.Millisecond}
	if b.pwait2 {
		c.Resolution = time.Nanosecond
	}
	return c
}

func (b *epollBackend) fd() int { return b.epfd }

// maskToEpoll and epollToMask are the one pair of translations.
func (b *epollBackend) maskToEpoll(m event.Mask) uint32 {
	e := b.flags
	if m&event.Readable != 0 {
		e |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if m&event.Writable != 0 {
		e |= unix.EPOLLOUT
	}
	return e
}

func epollToMask(e uint32) event.Mask {
	var m event.Mask
	if e&unix.EPOLLIN != 0 {
		m |= event.Readable
	}
	if e&unix.EPOLLOUT != 0 {
		m |= event.Writable
	}
	if e&unix.EPOLLRDHUP != 0 {
		m |= event.Readable | event.Hangup
	}
	if e&unix.EPOLLHUP != 0 {
		m |= event.Readable | event.Writable | event.Hangup
	}
	if e&unix.EPOLLERR != 0 {
		m |= event.Readable | event.Writable | event.Error
	}
	return m
}

func (b *epollBackend) ctl(fd int, old, new event.Mask) error {
	op := unix.EPOLL_CTL_MOD
	switch {
	case new == event.None:
		op = unix.EPOLL_CTL_DEL
	case old == event.None:
		op = unix.EPOLL_CTL_ADD
	}
	b.ctlEv = unix.EpollEvent{Events: b.maskToEpoll(new), Fd: int32(fd)}
	err := unix.EpollCtl(b.epfd, op, fd, &b.ctlEv)
	if err == unix.EEXIST && op == unix.EPOLL_CTL_ADD {
		// The kernel watches fd although the table says it does not (a
		// registration made behind the Poller's back): take it over.
		err = unix.EpollCtl(b.epfd, unix.EPOLL_CTL_MOD, fd, &b.ctlEv)
	}
	if err == unix.EPERM && op == unix.EPOLL_CTL_ADD {
		return fmt.Errorf("%w: fd %d is a regular file or directory: %w",
			ErrNotPollable, fd, syscallErr("epoll_ctl", err))
	}
	return syscallErr("epoll_ctl", err)
}

func (b *epollBackend) wait(fired []event.Fired, timeout time.Duration) (int, bool, error) {
	if len(fired) > len(b.events) {
		b.events = make([]unix.EpollEvent, len(fired))
	}
	evs := b.events[:len(fired)] // never more than fired holds: none is lost
	ptr := uintptr(unsafe.Pointer(&evs[0]))
	var r uintptr
	var errno unix.Errno
	if timeout == 0 || b.full { // cannot block, or probably need not (see the file's comment)
		r, _, errno = unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(b.epfd), ptr, uintptr(len(evs)), 0, 0, 0)
	}
	switch {
	case timeout == 0 || r > 0 || errno != 0:
	case timeout < 0 || timeout%time.Millisecond == 0 || !b.pwait2:
		// epoll_wait where the kernel has it, else epoll_pwait: about 0.1 µs
		// cheaper than epoll_pwait2 here, and no timespec is needed.
		n, err := unix.EpollWait(b.epfd, evs, timeoutMs(timeout))
		r = uintptr(max(n, 0))
		if err != nil {
			var ok bool
			if errno, ok = err.(unix.Errno); !ok {
				return 0, false, syscallErr("epoll_wait", err)
			}
		}
	default:
		b.ts = unix.NsecToTimespec(int64(timeout))
		tsp := uintptr(unsafe.Pointer(&b.ts))
		r, _, errno = unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(b.epfd), ptr, uintptr(len(evs)), tsp, 0, 0)
	}
	b.full = errno == 0 && int(r) == len(evs)
	if errno != 0 {
		if errno == unix.EINTR {
			return 0, false, unix.EINTR
		}
		return 0, false, syscallErr("epoll_wait", errno)
	}
	n, woke := 0, false
	wfd := b.w.fd()
	for _, ev := range evs[:r] {
		if int(ev.Fd) == wfd {
			b.w.drain()
			woke = true
			continue
		}
		fired[n] = event.Fired{Fd: int(ev.Fd), Mask: epollToMask(ev.Events)}
		n++
	}
	return n, woke, nil
}

func (b *epollBackend) wake() error { return b.w.wake() }

func (b *epollBackend) resize(int) error { return nil }

func (b *epollBackend) close() error {
	var errs *multierror.Error
	if err := b.w.close(); err != nil {
		errs = multierror.Append(errs, err)
	}
	if err := unix.Close(b.epfd); err != nil {
		errs = multierror.Append(errs, syscallErr("close", err))
	}
	return errs.ErrorOrNil()
}
