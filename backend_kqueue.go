//go:build darwin || dragonfly || freebsd || netbsd || openbsd || (linux && cgo && libkqueue)

// The kqueue backend: Redis's ae_kqueue.c in Go, for macOS and the BSDs, and
// on Linux over libkqueue with the libkqueue build tag. The change-list and
// merge logic lives in backend_kqueue_logic.go, where every OS tests it; this file
// converts to and from the native struct kevent and calls kevent. What
// differs per platform is only the native layer:
// backend_kqueue_native_bsd.go (x/sys/unix on the kernels) and
// backend_kqueue_native_libkqueue.go (cgo over libkqueue). The wake-up is
// split by file, as in Go's runtime: backend_kqueue_user.go (EVFILT_USER) and
// backend_kqueue_pipe.go (a pipe, where EVFILT_USER is missing).
//
// Quirks handled here:
//   - kqueue reports the read and write filters of an fd as separate events.
//     They are merged into one Fired entry, or aeloop's Barrier ordering
//     breaks (redis#9416, redis#2428). With a fired slice of length 1 the two
//     filters of one fd come back in successive Waits.
//   - The changes of one ctl call (at most one per filter) go to the kernel
//     in one kevent call, as Redis and Valkey now do (valkey#638,
//     redis#14557). Each carries EV_RECEIPT and the event list has exactly
//     one slot per change, so the kernel applies every change and reports
//     each one's errno in the event list. The kernels then skip the scan for
//     pending events (they do once they have written a receipt); libkqueue
//     scans whenever slots are left, so it is the exact size that keeps
//     pending events out of the list there. Should an implementation still
//     return an event after the receipts, kqSplitReceipts tells it apart and
//     wait reports it (carry): an event is never lost or read as a receipt.
//   - kqueue accepts regular files and directories and reports them always
//     ready: ctl refuses them with checkPollable when an fd is first
//     registered, as epoll does.
//   - Closing an fd removes its filters, silently. So that ctl notices, as
//     epoll's EPOLL_CTL_MOD does, a change of interest also sends EV_ENABLE
//     for each filter it keeps; that, or an EV_DELETE, answers ENOENT or
//     EBADF for a closed fd, and ctl reports ENOENT so that the Poller
//     registers the reused number afresh. In Oneshot mode a kept filter is
//     added again instead (the re-arm), so a reuse goes unnoticed there.
//     libkqueue does not see the close and keeps the filters: there an add
//     that answers ENOENT makes ctl forget the fd's filters and add again
//     (kqForget), and a change that adds nothing deletes and re-adds each
//     kept filter (kqReAddKept). backend_kqueue_native_libkqueue.go's
//     table lists every difference.
//   - EV_ONESHOT disarms only the filter that fired. Oneshot disarms the
//     whole fd, as EPOLLONESHOT does, so wait deletes the other filter in a
//     second kevent call when only one reported the fd.

package mux

import (
	"errors"
	"time"

	"github.com/hashicorp/go-multierror"
	"golang.org/x/sys/unix"

	"github.com/aemux/mux/event"
)

var _ backend = (*kqueueBackend)(nil)

func init() { register(nameKqueue, kqWakeKind, openKqueue) }

type kqueueBackend struct {
	kq   int
	mode Mode
	wk   kqWake // the wake-up: backend_kqueue_user.go or backend_kqueue_pipe.go
	m    kqMerger
	zero kqTimespec // a timeout of 0, for calls that must not block
	ts   kqTimespec

	// The native kevent arrays are slices of their own: cgo (libkqueue)
	// refuses a pointer into an object that also holds Go pointers.
	chg     [2]kqEvent // ctl's changes, at most one per filter
	chg2    [4]kqEvent // kqReAddKept's (libkqueue)
	fchg    [2]kqEvent // kqForget's
	nchg    []nativeKevent
	nrcpt   []nativeKevent
	rcpt    [4]kqEvent
	events  []nativeKevent // wait's, as long as the longest fired slice
	pevents []kqEvent
	dchg    []kqEvent // Oneshot's disarm changes; capacity as long as events
	ndchg   []nativeKevent
	ndrcpt  []nativeKevent
	carry   []kqEvent // events a change call returned, for the next wait
}

func openKqueue(setsize int, mode Mode) (backend, error) {
	kq, err := kqueueOpen()
	if err != nil {
		return nil, syscallErr("kqueue", err)
	}
	b := &kqueueBackend{kq: kq, mode: mode, m: kqMerger{wakeFd: -1},
		nchg: make([]nativeKevent, 4), nrcpt: make([]nativeKevent, 4)}
	b.grow(64)
	b.m.resize(setsize)
	if err := b.openWake(); err != nil {
		kqueueClose(kq)
		return nil, err
	}
	return b, nil
}

func (b *kqueueBackend) caps() Caps {
	return Caps{Edge: true, Oneshot: true, Hangup: true, HalfClose: true, Error: true,
		Pollable: kqFdPollable, Resolution: time.Nanosecond}
}

func (b *kqueueBackend) fd() int {
	if !kqFdPollable {
		return -1
	}
	return b.kq
}

// toKevent and fromKevent are the one pair of translations between the
// portable kqEvent and the native struct kevent.
func toKevent(k *nativeKevent, c *kqEvent) {
	filter := evfiltRead
	if c.filter == kqWrite {
		filter = evfiltWrite
	}
	flags := evReceipt
	for _, f := range [...]struct {
		portable kqFlags
		native   int
	}{{kqAdd, evAdd}, {kqDelete, evDelete}, {kqEnable, evEnable},
		{kqClear, evClear}, {kqOneshot, evOneshot}} {
		if c.flags&f.portable != 0 {
			flags |= f.native
		}
	}
	keventSet(k, c.ident, filter, flags, 0)
}

func fromKevent(k *nativeKevent) kqEvent {
	ident, filter, flags, fflags, data := keventGet(k)
	e := kqEvent{ident: ident, fflags: fflags, data: data, filter: kqUser}
	switch filter {
	case evfiltRead:
		e.filter = kqRead
	case evfiltWrite:
		e.filter = kqWrite
	} // the only other filter this kqueue holds is the EVFILT_USER wake-up
	if flags&evEOF != 0 {
		e.flags |= kqEOF
	}
	if flags&evError != 0 {
		e.flags |= kqError
	}
	return e
}

// kevent applies changes with receipts and returns the receipts. The event
// list has one slot per change; an entry that is not a receipt of the batch
// is a pending event, kept in carry for the next wait.
func (b *kqueueBackend) kevent(changes []kqEvent, nchg, nrcpt []nativeKevent, rcpt []kqEvent) ([]kqEvent, error) {
	for i := range changes {
		toKevent(&nchg[i], &changes[i])
	}
	for {
		n, err := keventCall(b.kq, nchg[:len(changes)], nrcpt[:len(changes)], &b.zero)
		if err == unix.EINTR {
			continue // changes cannot block; EV_ADD and EV_DELETE may be repeated
		}
		if err != nil {
			return nil, syscallErr("kevent", err)
		}
		for i := range n {
			rcpt[i] = fromKevent(&nrcpt[i])
		}
		receipts, events := kqSplitReceipts(changes, rcpt[:n])
		b.carry = append(b.carry, events...)
		return receipts, nil
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
	if kqLibkqueue {
		changes = kqReAddKept(b.chg2[:0], changes)
	}
	rcpt, err := b.kevent(changes, b.nchg, b.nrcpt, b.rcpt[:])
	if err != nil {
		return err
	}
	err = kqReceiptErr(changes, rcpt)
	if kqLibkqueue && old == event.None && errors.Is(err, unix.ENOENT) {
		// An add answered ENOENT, which the kernels never do: libkqueue
		// still holds a filter of the file that had this number before it
		// was closed without Del. Forget both filters, then register the
		// new file.
		forget := kqForget(b.fchg[:0], fd)
		if _, err := b.kevent(forget, b.nchg, b.nrcpt, b.rcpt[:]); err != nil {
			return err
		}
		if rcpt, err = b.kevent(changes, b.nchg, b.nrcpt, b.rcpt[:]); err != nil {
			return err
		}
		err = kqReceiptErr(changes, rcpt)
	}
	return err
}

func (b *kqueueBackend) grow(n int) {
	b.events = make([]nativeKevent, n)
	b.pevents = make([]kqEvent, n)
	if b.mode == Oneshot { // disarm deletes at most one filter per entry
		b.dchg = make([]kqEvent, 0, n)
		b.ndchg = make([]nativeKevent, n)
		b.ndrcpt = make([]nativeKevent, n)
	}
}

func (b *kqueueBackend) wait(fired []event.Fired, timeout time.Duration) (int, bool, error) {
	if len(fired) > len(b.events) {
		b.grow(len(fired))
	}
	// Events that change calls brought back (carry) come first; the kernel
	// is asked for no more than fired still holds, so none is lost, and not
	// made to block when there is something to report already.
	k := min(len(b.carry), len(fired))
	var ts *kqTimespec
	switch {
	case k > 0:
		ts = &b.zero
	case timeout >= 0:
		setTimespec(&b.ts, kqTimeout(timeout))
		ts = &b.ts
	}
	evs := b.events[k:len(fired)]
	r := 0
	if len(evs) > 0 {
		var err error
		if r, err = keventCall(b.kq, nil, evs, ts); err == unix.EINTR && k > 0 {
			r = 0 // report what carry holds now
		} else if err == unix.EINTR {
			return 0, false, unix.EINTR
		} else if err != nil {
			return 0, false, syscallErr("kevent", err)
		}
	}
	copy(b.pevents, b.carry[:k])
	b.carry = b.carry[:copy(b.carry, b.carry[k:])]
	for i := range r {
		b.pevents[k+i] = fromKevent(&evs[i])
	}
	n, woke := b.m.merge(b.pevents[:k+r], fired)
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
	if err := kqueueClose(b.kq); err != nil {
		errs = multierror.Append(errs, syscallErr("close", err))
	}
	return errs.ErrorOrNil()
}
