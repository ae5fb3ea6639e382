//go:build darwin || dragonfly || freebsd || netbsd || openbsd

// The kqueue backend: Redis's ae_kqueue.c in Go, for macOS and the BSDs.
// The change-list and merge logic lives in kqueue_logic.go, where Linux tests
// it; this file converts to and from unix.Kevent_t and calls kevent(2). The
// wake-up is split by file, as in Go's runtime: kqueue_user.go (EVFILT_USER)
// and kqueue_pipe.go (a pipe, where EVFILT_USER is missing).
//
// Quirks handled here:
//   - kqueue reports the read and write filters of an fd as separate events.
//     They are merged into one Fired entry, or aeloop's Barrier ordering
//     breaks (redis#9416, redis#2428). With a fired slice of length 1 the two
//     filters of one fd come back in successive Waits.
//   - The changes of one ctl call (at most one per filter) go to the kernel
//     in one kevent call, as Redis and Valkey now do (valkey#638,
//     redis#14557). Each carries EV_RECEIPT and the event list has room for
//     all of them, so the kernel applies every change, reports each one's
//     errno in the event list, and drains no pending event (every kernel's
//     kevent skips the scan for events once it has written a receipt).
//   - kqueue accepts regular files and directories and reports them always
//     ready: ctl refuses them with checkPollable when an fd is first
//     registered, as epoll does.
//   - Closing an fd removes its filters, silently. So that ctl notices, as
//     epoll's EPOLL_CTL_MOD does, a change of interest also sends EV_ENABLE
//     for each filter it keeps; that, or an EV_DELETE, answers ENOENT or
//     EBADF for a closed fd, and ctl reports ENOENT so that the Poller
//     registers the reused number afresh. In Oneshot mode a kept filter is
//     added again instead (the re-arm), so a reuse goes unnoticed there.
//   - EV_ONESHOT disarms only the filter that fired. Oneshot disarms the
//     whole fd, as EPOLLONESHOT does, so wait deletes the other filter in a
//     second kevent call when only one reported the fd.

package mux

import (
	"syscall"
	"time"

	"github.com/hashicorp/go-multierror"
	"golang.org/x/sys/unix"

	"github.com/aemux/mux/event"
)

var _ backend = (*kqueueBackend)(nil)

func init() { register("kqueue", 0, openKqueue) }

// evReceipt is EV_RECEIPT, 0x40 on all five systems; x/sys/unix does not
// define it for netbsd.
const evReceipt = 0x40

type kqueueBackend struct {
	kq   int
	mode Mode
	wk   kqWake // the wake-up: kqueue_user.go or kqueue_pipe.go
	m    kqMerger
	zero unix.Timespec // a timeout of 0, for calls that must not block
	ts   unix.Timespec

	chg     [2]kqEvent // ctl's changes, at most one per filter
	nchg    [2]unix.Kevent_t
	nrcpt   [2]unix.Kevent_t
	rcpt    [2]kqEvent
	events  []unix.Kevent_t // wait's, as long as the longest fired slice
	pevents []kqEvent
	dchg    []kqEvent // Oneshot's disarm changes; capacity as long as events
	ndchg   []unix.Kevent_t
	ndrcpt  []unix.Kevent_t
}

func openKqueue(setsize int, mode Mode) (backend, error) {
	// x/sys/unix has no kqueue1 (netbsd, openbsd) or kqueuex (freebsd 14)
	// wrapper, so the flag is set after kqueue(2) under ForkLock, as Go's
	// os package does, so that no fork in between inherits the fd.
	syscall.ForkLock.RLock()
	kq, err := unix.Kqueue()
	if err == nil {
		unix.CloseOnExec(kq)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, syscallErr("kqueue", err)
	}
	b := &kqueueBackend{kq: kq, mode: mode, m: kqMerger{wakeFd: -1}}
	b.grow(64)
	b.m.resize(setsize)
	if err := b.openWake(); err != nil {
		unix.Close(kq)
		return nil, err
	}
	return b, nil
}

func (b *kqueueBackend) name() string { return "kqueue" }

func (b *kqueueBackend) caps() Caps {
	return Caps{Edge: true, Oneshot: true, Hangup: true, HalfClose: true, Error: true,
		Pollable: true, Resolution: time.Nanosecond}
}

func (b *kqueueBackend) fd() int { return b.kq }

// toKevent and fromKevent are the one pair of translations. Field types
// differ per OS (netbsd's Filter and Flags are uint32, the others' int16 and
// uint16), hence SetKevent and the conversions.
func toKevent(k *unix.Kevent_t, c *kqEvent) {
	filter := unix.EVFILT_READ
	if c.filter == kqWrite {
		filter = unix.EVFILT_WRITE
	}
	flags := evReceipt
	for _, f := range [...]struct {
		portable kqFlags
		native   int
	}{{kqAdd, unix.EV_ADD}, {kqDelete, unix.EV_DELETE}, {kqEnable, unix.EV_ENABLE},
		{kqClear, unix.EV_CLEAR}, {kqOneshot, unix.EV_ONESHOT}} {
		if c.flags&f.portable != 0 {
			flags |= f.native
		}
	}
	*k = unix.Kevent_t{}
	unix.SetKevent(k, int(c.ident), filter, flags)
}

func fromKevent(k *unix.Kevent_t) kqEvent {
	e := kqEvent{ident: uint64(k.Ident), fflags: uint32(k.Fflags), data: int64(k.Data), filter: kqUser}
	switch k.Filter {
	case unix.EVFILT_READ:
		e.filter = kqRead
	case unix.EVFILT_WRITE:
		e.filter = kqWrite
	} // the only other filter this kqueue holds is the EVFILT_USER wake-up
	if k.Flags&unix.EV_EOF != 0 {
		e.flags |= kqEOF
	}
	if k.Flags&unix.EV_ERROR != 0 {
		e.flags |= kqError
	}
	return e
}

// kevent applies changes with receipts and returns what they report.
func (b *kqueueBackend) kevent(changes []kqEvent, nchg, nrcpt []unix.Kevent_t, rcpt []kqEvent) ([]kqEvent, error) {
	for i := range changes {
		toKevent(&nchg[i], &changes[i])
	}
	for {
		n, err := unix.Kevent(b.kq, nchg[:len(changes)], nrcpt[:len(changes)], &b.zero)
		if err == unix.EINTR {
			continue // changes cannot block; EV_ADD and EV_DELETE may be repeated
		}
		if err != nil {
			return nil, syscallErr("kevent", err)
		}
		for i := range n {
			rcpt[i] = fromKevent(&nrcpt[i])
		}
		return rcpt[:n], nil
	}
}

func (b *kqueueBackend) ctl(fd int, old, new event.Mask) error {
	if old == event.None {
		if err := checkPollable(fd); err != nil {
			return err
		}
	}
	changes := kqChanges(b.chg[:0], fd, old, new, b.mode)
	if len(changes) == 0 {
		return nil
	}
	rcpt, err := b.kevent(changes, b.nchg[:], b.nrcpt[:], b.rcpt[:])
	if err != nil {
		return err
	}
	return kqReceiptErr(changes, rcpt)
}

func (b *kqueueBackend) grow(n int) {
	b.events = make([]unix.Kevent_t, n)
	b.pevents = make([]kqEvent, n)
	if b.mode == Oneshot { // disarm deletes at most one filter per entry
		b.dchg = make([]kqEvent, 0, n)
		b.ndchg = make([]unix.Kevent_t, n)
		b.ndrcpt = make([]unix.Kevent_t, n)
	}
}

func (b *kqueueBackend) wait(fired []event.Fired, timeout time.Duration) (int, bool, error) {
	if len(fired) > len(b.events) {
		b.grow(len(fired))
	}
	evs := b.events[:len(fired)] // never more than fired holds: none is lost
	var ts *unix.Timespec
	if timeout >= 0 {
		b.ts = unix.NsecToTimespec(int64(kqTimeout(timeout)))
		ts = &b.ts
	}
	r, err := unix.Kevent(b.kq, nil, evs, ts)
	if err != nil {
		if err == unix.EINTR {
			return 0, false, unix.EINTR
		}
		return 0, false, syscallErr("kevent", err)
	}
	for i := range r {
		b.pevents[i] = fromKevent(&evs[i])
	}
	n, woke := b.m.merge(b.pevents[:r], fired)
	if woke {
		b.drainWake()
	}
	if b.mode == Oneshot && n > 0 {
		if d := b.m.disarm(b.dchg[:0], fired[:n]); len(d) > 0 {
			// The receipts say ENOENT for filters the fd did not register,
			// which is expected: only the call itself can fail.
			if _, err := b.kevent(d, b.ndchg, b.ndrcpt, b.pevents); err != nil {
				return 0, woke, err
			}
		}
	}
	return n, woke, nil
}

func (b *kqueueBackend) resize(setsize int) error {
	b.m.resize(setsize)
	return nil
}

func (b *kqueueBackend) close() error {
	var errs *multierror.Error
	if err := b.closeWake(); err != nil {
		errs = multierror.Append(errs, err)
	}
	if err := unix.Close(b.kq); err != nil {
		errs = multierror.Append(errs, syscallErr("close", err))
	}
	return errs.ErrorOrNil()
}
