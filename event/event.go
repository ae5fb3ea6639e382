// Package event defines the readiness masks shared by every aemux layer and
// the Fired record a Poller fills in.
//
// The first three bits keep the values of Redis's ae (AE_READABLE,
// AE_WRITABLE, AE_BARRIER) so that C code ported to aemux keeps its
// constants. Hangup and Error are report-only hints: a Poller sets them in
// Fired.Mask, and registering them is an error (mux.ErrBadMask).
//
// # Native flags per backend
//
// Which kernel flag produces which bit, per backend (epoll, kqueue and
// poll here, iocp below). "—" means the backend never reports that bit; a
// hint that is not reported is not a promise that the condition
// did not happen, so code must still treat a read of 0 bytes as end of file.
//
//	bit        epoll                       kqueue                        poll
//	Readable   EPOLLIN, EPOLLERR, EPOLLHUP  EVFILT_READ                   POLLIN, POLLERR, POLLHUP, POLLNVAL
//	Writable   EPOLLOUT, EPOLLERR, EPOLLHUP EVFILT_WRITE                  POLLOUT, POLLERR, POLLHUP, POLLNVAL
//	Hangup     EPOLLHUP, EPOLLRDHUP         EV_EOF                        POLLHUP (+ POLLRDHUP on Linux)
//	Error      EPOLLERR                     EV_ERROR, EV_EOF with fflags  POLLERR, POLLNVAL
//
// and on Windows (iocp, AFD poll):
//
//	Readable   AFD_POLL_RECEIVE, AFD_POLL_ACCEPT, AFD_POLL_DISCONNECT, AFD_POLL_ABORT, AFD_POLL_CONNECT_FAIL
//	Writable   AFD_POLL_SEND, AFD_POLL_ABORT, AFD_POLL_CONNECT_FAIL
//	Hangup     AFD_POLL_DISCONNECT, AFD_POLL_ABORT
//	Error      AFD_POLL_ABORT, AFD_POLL_CONNECT_FAIL, a failed poll request
//
// Error and hang-up are reported as Readable|Writable as well (restricted to
// what the fd registered), as Redis's ae_epoll.c and Go's runtime poller do,
// so that the next read or write surfaces the real error or end of file.
package event

import "strings"

// Mask is a set of readiness conditions. A Poller registers Readable and
// Writable, aeloop's AddEvent Barrier as well; reports may also carry
// Hangup and Error.
type Mask uint32

// The mask bits. None, Readable, Writable and Barrier equal Redis's AE_NONE,
// AE_READABLE, AE_WRITABLE and AE_BARRIER.
const (
	// None is the empty mask (AE_NONE).
	None Mask = 0
	// Readable: a read will not block (AE_READABLE).
	Readable Mask = 1
	// Writable: a write will not block (AE_WRITABLE).
	Writable Mask = 2
	// Barrier asks aeloop to run the write handler before the read handler
	// when both fire in one iteration (AE_BARRIER). It only has a meaning
	// together with Writable and is cleared when Writable is removed.
	Barrier Mask = 4
	// Hangup is reported, never registered: the peer closed its side
	// (EPOLLHUP/EPOLLRDHUP, EV_EOF, POLLHUP).
	Hangup Mask = 8
	// Error is reported, never registered: the kernel flagged an error
	// condition (EPOLLERR, EV_ERROR, POLLERR) or a closed fd (POLLNVAL).
	Error Mask = 16
)

// Registrable is the set of bits aeloop's AddEvent accepts: IO, which
// reaches the Poller, and Barrier, which aeloop keeps in its own per-fd
// record as ae keeps AE_BARRIER in aeFileEvent.mask. A Poller takes IO
// only.
const Registrable = Readable | Writable | Barrier

// All is every bit this package defines; anything outside it is unknown.
const All = Readable | Writable | Barrier | Hangup | Error

// IO is the pair of bits that reach the kernel: Readable|Writable.
const IO = Readable | Writable

var names = [...]struct {
	bit  Mask
	name string
}{
	{Readable, "Readable"},
	{Writable, "Writable"},
	{Barrier, "Barrier"},
	{Hangup, "Hangup"},
	{Error, "Error"},
}

// Has reports whether every bit of b is set in m.
func (m Mask) Has(b Mask) bool { return m&b == b }

// String returns the set bits joined by "|" ("Readable|Writable"), "None"
// for the empty mask, and unknown bits in hexadecimal ("Readable|0x40").
func (m Mask) String() string {
	if m == None {
		return "None"
	}
	var b strings.Builder
	for _, n := range names {
		if m&n.bit != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n.name)
		}
	}
	if rest := m &^ All; rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString("0x")
		const hex = "0123456789abcdef"
		var digits [8]byte
		i := len(digits)
		for v := uint32(rest); v != 0; v >>= 4 {
			i--
			digits[i] = hex[v&0xf]
		}
		b.Write(digits[i:])
	}
	return b.String()
}

// Fired is one readiness report: the fd and what it is ready for. A Poller
// returns at most one Fired per fd per Wait.
type Fired struct {
	Fd   int
	Mask Mask
}
