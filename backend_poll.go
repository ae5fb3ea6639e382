//go:build unix

// The poll backend: poll(2) (ppoll(2) on Linux) over a pollfd slice, built on
// every unix so that Linux runs the whole suite on two backends and users can
// force it where epoll or kqueue misbehave (AEMUX_BACKEND=poll). Like Redis's
// ae_select.c it costs O(registered fds) per Wait (about 37 ns per idle fd
// on the machine bench/ reports on); registration is O(1): an fd -> slot index,
// and delete swaps the last slot into the hole.
//
// Quirks handled here:
//   - poll reports POLLHUP, POLLERR and POLLNVAL whatever was asked, so a slot
//     that must stay silent (a Oneshot fd already reported, a closed fd) is
//     parked with a negative fd, which poll ignores, and restored on re-arm.
//   - A closed fd answers POLLNVAL on every call: it is reported once as Error
//     and parked, so Wait never spins; a later ctl on the slot answers ENOENT
//     and the Poller registers the fd afresh.
//   - Oneshot is emulated: a reported fd is parked until ctl re-arms it.
//   - Edge-triggered reporting cannot be emulated without reading the data,
//     so Open refuses it with errors.ErrUnsupported.
//   - Slots are scanned from where the previous Wait stopped, so when more fds
//     are ready than fired holds, none starves.

package mux

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux/event"
)

var _ backend = (*pollBackend)(nil)

func init() { register(namePoll, wakerKind, openPoll) }

type pollBackend struct {
	fds     []unix.PollFd // fds[0] is the waker
	gone    []bool        // per slot: parked because the fd was closed (POLLNVAL)
	slot    []int32       // fd -> index in fds, or -1; len is the set size
	next    int           // slot where the next scan starts
	oneshot bool
	w       *waker
	ts      unix.Timespec
}

func openPoll(setsize int, mode Mode) (backend, error) {
	if mode == Edge {
		return nil, fmt.Errorf("aemux: the poll backend has no edge-triggered mode: %w", errors.ErrUnsupported)
	}
	w, err := newWaker()
	if err != nil {
		return nil, err
	}
	b := &pollBackend{oneshot: mode == Oneshot, w: w}
	b.fds = append(b.fds, unix.PollFd{Fd: int32(w.fd()), Events: unix.POLLIN})
	b.gone = append(b.gone, false)
	b.resize(setsize)
	return b, nil
}

func (b *pollBackend) caps() Caps {
	return Caps{Oneshot: true, OneshotEmulated: true, Hangup: true, HalfClose: pollRdhup != 0,
		Error: true, Resolution: pollResolution}
}

func (b *pollBackend) fd() int { return -1 }

func maskToPoll(m event.Mask) int16 {
	var e int16
	if m&event.Readable != 0 {
		e |= unix.POLLIN | pollRdhup
	}
	if m&event.Writable != 0 {
		e |= unix.POLLOUT
	}
	return e
}

func pollToMask(r int16) event.Mask {
	var m event.Mask
	if r&unix.POLLIN != 0 {
		m |= event.Readable
	}
	if r&unix.POLLOUT != 0 {
		m |= event.Writable
	}
	if r&pollRdhup != 0 {
		m |= event.Readable | event.Hangup
	}
	if r&unix.POLLHUP != 0 {
		m |= event.Readable | event.Writable | event.Hangup
	}
	if r&(unix.POLLERR|unix.POLLNVAL) != 0 {
		m |= event.Readable | event.Writable | event.Error
	}
	return m
}

func (b *pollBackend) ctl(fd int, old, new event.Mask) error {
	i := int(b.slot[fd])
	switch {
	case new == event.None:
		if i < 0 {
			return nil
		}
		last := len(b.fds) - 1
		moved := b.fds[last]
		b.fds[i], b.gone[i] = moved, b.gone[last]
		b.slot[slotFd(moved)] = int32(i)
		b.fds, b.gone = b.fds[:last], b.gone[:last]
		b.slot[fd] = -1
		return nil
	case old == event.None || i < 0:
		if err := checkPollable(fd); err != nil {
			return err
		}
		if i < 0 {
			i = len(b.fds)
			b.fds = append(b.fds, unix.PollFd{})
			b.gone = append(b.gone, false)
			b.slot[fd] = int32(i)
		}
	case b.gone[i]:
		// The fd was closed while registered (POLLNVAL): whatever uses the
		// number now is a new file.
		return syscallErr("poll", unix.ENOENT)
	}
	b.fds[i] = unix.PollFd{Fd: int32(fd), Events: maskToPoll(new)}
	b.gone[i] = false
	return nil
}

// slotFd is the fd a slot stands for, parked or not.
func slotFd(p unix.PollFd) int32 {
	if p.Fd < 0 {
		return ^p.Fd
	}
	return p.Fd
}

func (b *pollBackend) wait(fired []event.Fired, timeout time.Duration) (int, bool, error) {
	ready, err := pollFds(b.fds, timeout, &b.ts)
	if err != nil {
		if err == unix.EINTR {
			return 0, false, err
		}
		return 0, false, syscallErr(pollCall, err)
	}
	woke := false
	if b.fds[0].Revents != 0 {
		b.w.drain()
		woke = true
		ready--
	}
	n, total, start := 0, len(b.fds)-1, b.next
	if start < 1 || start > total {
		start = 1
	}
	for k := 0; k < total && ready > 0 && n < len(fired); k++ {
		i := start + k
		if i > total {
			i -= total
		}
		p := &b.fds[i]
		if p.Revents == 0 || p.Fd < 0 {
			continue
		}
		ready--
		fired[n] = event.Fired{Fd: int(p.Fd), Mask: pollToMask(p.Revents)}
		n++
		if p.Revents&unix.POLLNVAL != 0 {
			b.gone[i] = true
			p.Fd = ^p.Fd
		} else if b.oneshot {
			p.Fd = ^p.Fd
		}
		b.next = i + 1
	}
	return n, woke, nil
}

func (b *pollBackend) wake() error { return b.w.wake() }

func (b *pollBackend) resize(setsize int) error {
	slot := make([]int32, setsize)
	n := copy(slot, b.slot)
	for i := n; i < setsize; i++ {
		slot[i] = -1
	}
	b.slot = slot
	return nil
}

func (b *pollBackend) close() error { return b.w.close() }
