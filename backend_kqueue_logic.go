//go:build unix

// The kqueue backend's pure logic, kept free of kqueue's native types so that
// it is table-tested on every unix, Linux included (only its errno values tie
// it to unix): which changes one ctl call makes (kqChanges), what their
// receipts mean (kqReceiptErr), how the separate read and write filters of
// one fd become one Fired entry (kqMerger.merge), and which filters Oneshot
// mode must drop after a report (kqMerger.disarm). backend_kqueue.go converts
// to and from unix.Kevent_t and makes the kevent(2) calls.

package mux

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux/event"
)

// kqFilter is the portable form of a kevent filter.
type kqFilter uint8

const (
	kqRead  kqFilter = iota + 1 // EVFILT_READ
	kqWrite                     // EVFILT_WRITE
	kqUser                      // EVFILT_USER, the wake-up (darwin, dragonfly, freebsd)
)

// kqFlags is the portable form of a kevent's flags.
type kqFlags uint8

const (
	kqAdd     kqFlags = 1 << iota // EV_ADD
	kqDelete                      // EV_DELETE
	kqEnable                      // EV_ENABLE: touches an existing filter, ENOENT if there is none
	kqClear                       // EV_CLEAR (Edge)
	kqOneshot                     // EV_ONESHOT (Oneshot)
	kqEOF                         // EV_EOF (returned)
	kqError                       // EV_ERROR (returned; data is the errno)
)

// kqEvent is a kevent in portable form: a change going in, or an event or
// receipt coming out.
type kqEvent struct {
	ident  uint64
	filter kqFilter
	flags  kqFlags
	fflags uint32 // with EV_EOF: the socket error, if any
	data   int64  // with EV_ERROR: the errno (0 in a successful receipt)
}

// kqModeFlags are the flags every registration carries in mode m.
func kqModeFlags(m Mode) kqFlags {
	switch m {
	case Edge:
		return kqClear
	case Oneshot:
		return kqOneshot
	}
	return 0
}

// kqChanges appends to dst the changes that move fd from old to new, for one
// kevent call: EV_ADD for a filter that new gains, EV_DELETE for one it
// loses, and EV_ENABLE for one it keeps. The EV_ENABLE is how kqueue learns
// that the fd was closed while registered (it answers ENOENT or EBADF, as
// epoll's EPOLL_CTL_MOD answers ENOENT), and like EPOLL_CTL_MOD it makes the
// kernel re-check readiness. In Oneshot mode kept filters are added again
// instead: that is the re-arm, and a filter that already fired is gone, so
// it could not be enabled.
func kqChanges(dst []kqEvent, fd int, old, new event.Mask, mode Mode) []kqEvent {
	mf := kqModeFlags(mode)
	for _, d := range [2]struct {
		bit    event.Mask
		filter kqFilter
	}{{event.Readable, kqRead}, {event.Writable, kqWrite}} {
		was, is := old&d.bit != 0, new&d.bit != 0
		var f kqFlags
		switch {
		case is && (!was || mode == Oneshot):
			f = kqAdd | mf
		case is:
			f = kqEnable | mf
		case was:
			f = kqDelete
		default:
			continue
		}
		dst = append(dst, kqEvent{ident: uint64(fd), filter: d.filter, flags: f})
	}
	return dst
}

// kqReAddKept is for libkqueue, which cannot see an fd closed without Del:
// an enable of the old file's filter succeeds there, so a Del of part of
// the mask of a reused number would leave the new file unwatched. In a
// batch that adds no filter (such a Del), it appends to dst the changes
// with each EV_ENABLE of a kept filter replaced by an EV_DELETE and an
// EV_ADD of it, which registers whatever file the number names now and,
// like the enable on the kernels, re-checks its readiness (a closed number
// makes the add answer EBADF). A batch that adds a filter is left as it is:
// there the add answers ENOENT for a reused number, which ctl handles.
func kqReAddKept(dst, changes []kqEvent) []kqEvent {
	for _, c := range changes {
		if c.flags&kqAdd != 0 {
			return changes
		}
	}
	for _, c := range changes {
		if c.flags&kqEnable == 0 {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, kqEvent{ident: c.ident, filter: c.filter, flags: kqDelete},
			kqEvent{ident: c.ident, filter: c.filter, flags: c.flags&^kqEnable | kqAdd})
	}
	return dst
}

// kqSplitReceipts tells apart what a kevent call with the changelist
// changes returned: first the receipts, one per change in changelist order,
// each a copy of its change with EV_ERROR set and the errno (0 for success)
// in data; then, on libkqueue when the event list has slots to spare,
// pending events. An entry is a receipt only while entries are still
// receipt-shaped: EV_ERROR set, and ident and filter those of the next
// change. Everything from the first other entry on is an event, which the
// caller must report rather than drop.
func kqSplitReceipts(changes, out []kqEvent) (receipts, events []kqEvent) {
	n := 0
	for n < len(out) && n < len(changes) && out[n].flags&kqError != 0 &&
		out[n].ident == changes[n].ident && out[n].filter == changes[n].filter {
		n++
	}
	return out[:n], out[n:]
}

// kqReceiptErr reads the receipts (EV_RECEIPT) of one batch of changes. A
// filter that the batch deletes or enables but that the kernel does not have
// (ENOENT), or an fd the kernel no longer has (EBADF), means the fd was closed
// without Del: that is reported as ENOENT, whatever else failed, so that the
// Poller registers the new interest afresh. So is an add that answers ENOENT,
// which the kernels never do: libkqueue does, when it still holds the other
// filter of an fd closed without Del (kqueueBackend.ctl then clears that
// stale state). Otherwise the first failure is returned. A missing receipt
// counts as success.
func kqReceiptErr(changes, receipts []kqEvent) error {
	var first error
	for _, r := range receipts {
		if r.flags&kqError == 0 || r.data == 0 {
			continue
		}
		errno := unix.Errno(r.data)
		for _, c := range changes {
			if c.filter != r.filter || c.ident != r.ident {
				continue
			}
			if (c.flags&(kqDelete|kqEnable) != 0 && (errno == unix.ENOENT || errno == unix.EBADF)) ||
				(c.flags&kqAdd != 0 && errno == unix.ENOENT) {
				return syscallErr("kevent", unix.ENOENT)
			}
		}
		if first == nil {
			first = syscallErr("kevent", errno)
		}
	}
	return first
}

// kqForget appends to dst an EV_DELETE of both filters of fd: what clears
// libkqueue's stale state of an fd closed without Del. The receipts say
// ENOENT for a filter it did not hold, which is expected.
func kqForget(dst []kqEvent, fd int) []kqEvent {
	return append(dst, kqEvent{ident: uint64(fd), filter: kqRead, flags: kqDelete},
		kqEvent{ident: uint64(fd), filter: kqWrite, flags: kqDelete})
}

// kqMask is what one returned event says about its fd. EV_EOF is a hang-up
// in the filter's direction (the read filter: the peer shut down writing;
// the write filter: nothing more can be written); with a nonzero fflags it
// carries a socket error, which is reported as an error in both directions,
// like EV_ERROR.
func kqMask(e *kqEvent) event.Mask {
	var m event.Mask
	switch e.filter {
	case kqRead:
		m = event.Readable
	case kqWrite:
		m = event.Writable
	}
	if e.flags&kqEOF != 0 {
		m |= event.Hangup
		if e.fflags != 0 {
			m |= event.Readable | event.Writable | event.Error
		}
	}
	if e.flags&kqError != 0 {
		m |= event.Readable | event.Writable | event.Error
	}
	return m
}

// kqSlot is a per-fd scratch record of one merge: where the fd's entry is in
// fired and which filters reported it. It is valid only when gen is the
// merger's current generation, so nothing has to be cleared between Waits.
type kqSlot struct {
	gen  uint32
	idx  int32
	seen uint8 // 1 << kqRead | 1 << kqWrite
}

// kqMerger merges the two filters of an fd into one Fired entry in O(1) per
// event, without allocating: slots is indexed by fd and sized to the set
// size. It holds positions in fired, never masks.
type kqMerger struct {
	slots  []kqSlot
	gen    uint32
	wakeFd int // ident of the wake-up pipe's read end (netbsd, openbsd), or -1
}

func (m *kqMerger) resize(setsize int) {
	if setsize <= cap(m.slots) {
		m.slots = m.slots[:setsize]
		return
	}
	slots := make([]kqSlot, setsize)
	copy(slots, m.slots)
	m.slots = slots
}

// merge turns evs, the events one kevent call returned, into entries of
// fired, one per fd, and says whether the wake-up was among them. The
// caller asks the kernel for at most len(fired) events; should evs be
// longer, merge still never writes past len(fired).
func (m *kqMerger) merge(evs []kqEvent, fired []event.Fired) (n int, woke bool) {
	m.gen++
	if m.gen == 0 { // wrapped: old stamps could match again
		clear(m.slots)
		m.gen = 1
	}
	for i := range evs {
		e := &evs[i]
		if e.filter == kqUser || (e.filter == kqRead && m.wakeFd >= 0 && e.ident == uint64(m.wakeFd)) {
			woke = true
			continue
		}
		mask := kqMask(e)
		if mask == event.None {
			continue
		}
		fd := int(e.ident)
		seen := uint8(1) << e.filter
		if fd >= 0 && fd < len(m.slots) {
			s := &m.slots[fd]
			if s.gen == m.gen {
				fired[s.idx].Mask |= mask
				s.seen |= seen
				continue
			}
			if n == len(fired) {
				continue
			}
			*s = kqSlot{gen: m.gen, idx: int32(n), seen: seen}
		} else {
			// Outside the set size (never registered through the Poller):
			// merge by a scan, which costs O(n) but cannot happen in
			// normal use.
			j := 0
			for j < n && fired[j].Fd != fd {
				j++
			}
			if j < n {
				fired[j].Mask |= mask
				continue
			}
			if n == len(fired) {
				continue
			}
		}
		fired[n] = event.Fired{Fd: fd, Mask: mask}
		n++
	}
	return n, woke
}

// disarm appends to dst, for each entry of the merge just made, an
// EV_DELETE of the filter that did not report it. With EV_ONESHOT the
// kernel drops only the filter that fired, but Oneshot disarms the whole fd
// until the next Add, as EPOLLONESHOT does. A delete for a filter the fd
// never registered answers ENOENT, which the caller ignores.
func (m *kqMerger) disarm(dst []kqEvent, fired []event.Fired) []kqEvent {
	for _, f := range fired {
		if f.Fd < 0 || f.Fd >= len(m.slots) || m.slots[f.Fd].gen != m.gen {
			continue
		}
		seen := m.slots[f.Fd].seen
		for _, filter := range [2]kqFilter{kqRead, kqWrite} {
			if seen&(1<<filter) == 0 {
				dst = append(dst, kqEvent{ident: uint64(f.Fd), filter: filter, flags: kqDelete})
			}
		}
	}
	return dst
}

// kqMaxTimeout caps a kevent timeout. Darwin answers EINVAL to a timeout
// above 1e8 seconds (about 3 years), so a Wait of, say, math.MaxInt64
// nanoseconds would fail instead of sleeping.
// The cap stays far below that, at 1e6 seconds (11.6 days) as Go's runtime
// poller does; the Poller waits again for the time that remains.
const kqMaxTimeout = 1e6 * time.Second

// kqTimeout is the timeout to hand kevent for a Wait of d (d >= 0).
func kqTimeout(d time.Duration) time.Duration { return min(d, kqMaxTimeout) }
