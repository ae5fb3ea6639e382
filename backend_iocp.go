//go:build windows

// The iocp backend: AFD poll requests completing through one I/O completion
// port, as wepoll, mio and libuv's uv_poll do on Windows.
// Each registered socket has at most one poll request in flight, asking for
// the AFD events of its interest; GetQueuedCompletionStatusEx collects the
// answers of many sockets in one call, and PostQueuedCompletionStatus with
// no overlapped pointer is the wake-up. backend_iocp_afd_windows.go has the native calls.
//
// Quirks handled here:
//   - A poll request reports once and is then done. Oneshot is therefore
//     native (the request is not renewed until ctl re-arms the socket), and
//     Level is emulated: a socket reported by one wait gets a new request at
//     the start of the next one, after the caller has read or written, so a
//     drained socket is not reported again. Edge cannot be built on it
//     without reading the data, so Open refuses it (errors.ErrUnsupported).
//   - A request cannot be changed, only cancelled: ctl leaves a request in
//     flight alone when it already asks for everything the new interest
//     needs (what it reports beyond is trimmed), and otherwise cancels it;
//     the cancelled completion renews it with the current interest.
//   - The kernel writes into a socket's request until its completion is
//     dequeued, so a socket deleted with a request in flight is kept (in
//     zombies) until then, and close cancels every request and drains the
//     port before it closes it.
//   - A socket closed while registered completes its request with
//     AFD_POLL_LOCAL_CLOSE; it is then dropped without a report, as epoll
//     drops a closed fd, and a later ctl of its number answers ENOENT, so
//     the Poller registers the number afresh.
//   - Requests ask for the peer's FIN (AFD_POLL_DISCONNECT) only with
//     Readable: a FIN stays true for good, and a Writable-only socket whose
//     send buffer is full would otherwise be answered at once, forever.
//   - iocp cannot tell a socket closed with no request in flight (Level
//     mode between a report and the next Wait, Oneshot mode after a
//     report) from the new socket that reuses its number: the
//     registration then carries over to the new socket, with the table's
//     whole mask. Hence the package doc's rule: Del before closesocket.
//
// Wine, under which CI runs the Windows tests, differs from Windows here:
//
//	                         Wine 8.0 (measured)           Windows (as documented)
//	recv after a peer's      returns 0, as at end of       fails with WSAECONNRESET
//	reset                    stream (send fails with
//	                         WSAECONNRESET)
//	SIO_BASE_HANDLE on a     succeeds and returns the      fails with WSAENOTSOCK (the
//	file or closed handle    handle                        backend asks getsockopt(SO_TYPE)
//	                                                       first, on both)
//	connect to a loopback    refused at once: Readable|    retries the SYN and is refused
//	port nobody listens on   Writable|Error in < 1 ms      after about 2 s
//	timed Wait overshoot     0.4 ms median for a 3 ms      up to a timer tick (15.6 ms by
//	                         Wait                          default)
//	a Wait(0) just after a   may miss it: wineserver       sees it: the request completes
//	peer's send to a socket  learns of the data a moment   within the send
//	with a request in flight later (a timed Wait sees it)
//
// The tests that meet these rows: RunPoller Readiness/PeerCloses (read
// returns 0 or the reset error), TestIOCPBadInput (a file, a closed
// handle), TestIOCPRefusedConnect and RunPoller Readiness/ConnectRefused,
// TestIOCPTimedWait and RunPoller Wait/TimedWaitNeverEarly, RunLoop
// Process/Order and RunPoller Wait/TimeoutZero (a Wait(0) after a send).

package mux

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-multierror"
	"golang.org/x/sys/windows"

	"github.com/aemux/mux/event"
)

var _ backend = (*iocpBackend)(nil)

func init() { register(nameIOCP, wakePost, openIOCP) }

// wakeKey is the completion key of a wake-up; polls complete with key 0.
const wakeKey = 1

// afdSock is one registered socket and its poll request.
type afdSock struct {
	iosb     windows.IO_STATUS_BLOCK // first: the request's apcContext is the afdSock itself
	info     afdPollInfo
	fd       int
	want     event.Mask // Readable|Writable asked for; a request in flight may ask for more
	asked    uint32     // AFD events of the request in flight; 0 when none is
	inflight bool       // a request was submitted and its completion not yet dequeued
	disarmed bool       // Oneshot: reported, waiting for ctl to re-arm
	queued   bool       // in the backend's renew queue
	gone     bool       // the socket was closed: no request is renewed, ctl answers ENOENT
	deleted  bool       // no longer registered; kept only until its completion arrives
}

type iocpBackend struct {
	port     windows.Handle
	afd      windows.Handle
	oneshot  bool
	socks    map[int]*afdSock      // registered sockets by handle
	zombies  map[*afdSock]struct{} // deleted with a request in flight
	renew    []*afdSock            // sockets to (re)submit at the start of the next wait
	entries  []overlappedEntry     // wait's, as long as the longest fired slice
	inflight int                   // requests whose completion has not been dequeued
}

func openIOCP(setsize int, mode Mode) (backend, error) {
	if mode == Edge {
		return nil, fmt.Errorf("aemux: the iocp backend has no edge-triggered mode: %w", errors.ErrUnsupported)
	}
	if err := findProcs(); err != nil {
		return nil, err
	}
	var wsa windows.WSAData
	if err := windows.WSAStartup(uint32(0x0202), &wsa); err != nil {
		return nil, syscallErr("WSAStartup", err)
	}
	port, err := windows.CreateIoCompletionPort(windows.InvalidHandle, 0, 0, 1)
	if err != nil {
		windows.WSACleanup()
		return nil, syscallErr("CreateIoCompletionPort", err)
	}
	afd, err := openAFD(port)
	if err != nil {
		windows.CloseHandle(port)
		windows.WSACleanup()
		return nil, err
	}
	return &iocpBackend{port: port, afd: afd, oneshot: mode == Oneshot,
		socks: make(map[int]*afdSock), zombies: make(map[*afdSock]struct{}),
		entries: make([]overlappedEntry, 64)}, nil
}

func (b *iocpBackend) caps() Caps {
	return Caps{Oneshot: true, LevelEmulated: true, Hangup: true, HalfClose: true, Error: true,
		Resolution: time.Millisecond}
}

func (b *iocpBackend) fd() int { return -1 }

// maskToAFD is what a request asks for. A reset and a failed connect are
// always asked for, as epoll always reports EPOLLERR and EPOLLHUP; a local
// close always, so that a closed socket is dropped.
func maskToAFD(m event.Mask) uint32 {
	e := uint32(afdAbort | afdConnectFail | afdLocalClose)
	if m&event.Readable != 0 {
		e |= afdReceive | afdAccept | afdDisconnect
	}
	if m&event.Writable != 0 {
		e |= afdSend
	}
	return e
}

// afdToMask maps an answer the way the package docs map every backend's:
// a condition that the next read or write will surface is Readable and
// Writable as well as its hint.
func afdToMask(e uint32) event.Mask {
	var m event.Mask
	if e&(afdReceive|afdAccept) != 0 {
		m |= event.Readable
	}
	if e&afdSend != 0 {
		m |= event.Writable
	}
	if e&afdDisconnect != 0 {
		m |= event.Readable | event.Hangup
	}
	if e&afdAbort != 0 {
		m |= event.Readable | event.Writable | event.Hangup | event.Error
	}
	if e&afdConnectFail != 0 {
		m |= event.Readable | event.Writable | event.Error
	}
	return m
}

func (b *iocpBackend) ctl(fd int, old, new event.Mask) error {
	s := b.socks[fd]
	switch {
	case old == event.None:
		base, err := baseSocket(fd)
		if err != nil {
			return err
		}
		if s != nil {
			b.drop(s) // a closed socket's leftovers: the number is a new socket now
		}
		s = &afdSock{fd: fd, want: new}
		s.info.handle = base
		b.socks[fd] = s
		b.queue(s)
		return nil
	case s == nil || s.gone || b.closedUnderUs(s):
		if s != nil && new == event.None {
			b.drop(s)
		}
		return fmt.Errorf("handle %d: not watched (closed while registered?): %w", fd, syscall.ENOENT)
	case new == event.None:
		b.drop(s)
		return nil
	}
	s.want = new
	s.disarmed = false
	b.queue(s)
	return nil
}

// closedUnderUs tells from a completed but not yet dequeued request that
// its socket was closed (the completion is still to come).
func (b *iocpBackend) closedUnderUs(s *afdSock) bool {
	if !s.inflight || atomic.LoadUint32((*uint32)(&s.iosb.Status)) == uint32(windows.STATUS_PENDING) {
		return false
	}
	if atomic.LoadUint32(&s.info.events)&afdLocalClose != 0 {
		s.gone = true
	}
	return s.gone
}

// queue puts s in the renew queue once.
func (b *iocpBackend) queue(s *afdSock) {
	if !s.queued {
		s.queued = true
		b.renew = append(b.renew, s)
	}
}

// drop unregisters s, cancelling its request; s stays in zombies until the
// completion arrives.
func (b *iocpBackend) drop(s *afdSock) {
	delete(b.socks, s.fd)
	s.deleted = true
	if s.inflight {
		b.zombies[s] = struct{}{}
		_ = afdCancel(b.afd, s) // fails only on a bad afd handle; close drains it anyway
	}
}

// submit brings s's request in line with its interest, or cancels it.
func (b *iocpBackend) submit(s *afdSock) error {
	if s.deleted || s.gone || s.disarmed || s.want == event.None {
		return nil
	}
	want := maskToAFD(s.want)
	if s.inflight {
		if want&^s.asked != 0 {
			s.asked = 0 // cancelled; its completion renews it
			return afdCancel(b.afd, s)
		}
		return nil
	}
	s.info.timeout = math.MaxInt64
	s.info.count = 1
	s.info.exclusive = 0
	s.info.events = want
	s.info.status = 0
	if err := afdPoll(b.afd, s); err != nil {
		if err == windows.ERROR_INVALID_HANDLE {
			s.gone = true // closed since the last request: dropped, as a local close
			return nil
		}
		return syscallErr("NtDeviceIoControlFile", err)
	}
	s.inflight = true
	s.asked = want
	b.inflight++
	return nil
}

func (b *iocpBackend) wait(fired []event.Fired, timeout time.Duration) (int, bool, error) {
	for i, s := range b.renew {
		s.queued = false
		b.renew[i] = nil
		if err := b.submit(s); err != nil {
			for _, r := range b.renew[i+1:] {
				b.queue(r)
			}
			b.renew = b.renew[:0]
			return 0, false, err
		}
	}
	b.renew = b.renew[:0]
	if len(fired) > len(b.entries) {
		b.entries = make([]overlappedEntry, len(fired))
	}
	entries := b.entries[:len(fired)] // one report per completion: none is lost
	ms := uint32(windows.INFINITE)
	if timeout >= 0 {
		ms = uint32(timeoutMs(timeout))
	}
	k, err := getCompletions(b.port, entries, ms)
	if err != nil {
		return 0, false, err
	}
	n, woke := 0, false
	for i := range entries[:k] {
		e := &entries[i]
		s := e.sock
		e.sock = nil // the port wrote it behind the garbage collector's back; keep no stale pointer
		if s == nil {
			woke = woke || e.key == wakeKey
			continue
		}
		if m := b.complete(s); m != event.None {
			fired[n] = event.Fired{Fd: s.fd, Mask: m}
			n++
		}
	}
	return n, woke, nil
}

// complete handles the completion of s's request and returns what to
// report, or None.
func (b *iocpBackend) complete(s *afdSock) event.Mask {
	s.inflight = false
	s.asked = 0
	b.inflight--
	if s.deleted {
		delete(b.zombies, s)
		return event.None
	}
	var m event.Mask
	switch st := s.iosb.Status; {
	case st == windows.STATUS_CANCELLED:
		// cancelled by submit for a wider interest: renew below
	case st != windows.STATUS_SUCCESS || s.info.status != windows.STATUS_SUCCESS:
		// The request itself failed (its socket is no longer usable):
		// report it once as an error and drop it.
		s.gone = true
		return (s.want & event.IO) | event.Error
	case s.info.count == 0:
		// answered with no event (a timeout it never asked for): renew
	case s.info.events&afdLocalClose != 0:
		s.gone = true
		return event.None
	default:
		m = afdToMask(s.info.events) & (s.want | event.Hangup | event.Error)
	}
	if m&event.IO == 0 {
		b.queue(s) // nothing the interest wants: ask again
		return event.None
	}
	if b.oneshot {
		s.disarmed = true
	} else {
		b.queue(s)
	}
	return m
}

func (b *iocpBackend) wake() error {
	return handleErr("PostQueuedCompletionStatus", windows.PostQueuedCompletionStatus(b.port, 0, wakeKey, nil))
}

func (b *iocpBackend) resize(int) error { return nil }

// closeDrainLimit bounds how long close waits for cancelled requests.
const closeDrainLimit = 2 * time.Second

// abandoned keeps the sockets of a port whose cancelled requests did not
// all complete in time, so that the memory the kernel may still write is
// never reused.
var abandoned []*afdSock

func (b *iocpBackend) close() error {
	var errs *multierror.Error
	for _, s := range b.socks {
		b.drop(s)
	}
	deadline := time.Now().Add(closeDrainLimit)
	for b.inflight > 0 && time.Now().Before(deadline) {
		k, err := getCompletions(b.port, b.entries, uint32(timeoutMs(time.Until(deadline))))
		if err != nil {
			errs = multierror.Append(errs, err)
			break
		}
		for i := range b.entries[:k] {
			if s := b.entries[i].sock; s != nil {
				b.entries[i].sock = nil
				b.complete(s)
			}
		}
	}
	for s := range b.zombies {
		abandoned = append(abandoned, s)
	}
	if err := windows.CloseHandle(b.afd); err != nil {
		errs = multierror.Append(errs, handleErr("CloseHandle", err))
	}
	if err := windows.CloseHandle(b.port); err != nil {
		errs = multierror.Append(errs, handleErr("CloseHandle", err))
	}
	windows.WSACleanup()
	return errs.ErrorOrNil()
}
