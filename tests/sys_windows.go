package tests

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/aemux/mux/internal/winsock"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

// The socket calls of the harness and the scenarios on Windows, under the
// names sys_unix.go gives the unix ones: Winsock's, with its errors
// (WSAEWOULDBLOCK where unix says EAGAIN or EINPROGRESS). Pipes and
// socketpairs are loopback TCP connections (fdtest.Pipe, fdtest.Socketpair).

type inet4 = windows.SockaddrInet4

const (
	afInet     = windows.AF_INET
	sockStream = windows.SOCK_STREAM
	sockDgram  = windows.SOCK_DGRAM
)

var (
	errAgain       error = windows.WSAEWOULDBLOCK
	errInProgress  error = windows.WSAEWOULDBLOCK // connect on a non-blocking socket
	errConnRefused error = windows.WSAECONNREFUSED
	errConnReset   error = windows.WSAECONNRESET
	errConnAborted error = windows.WSAECONNABORTED
)

// soErrorOpt is SO_ERROR, which golang.org/x/sys/windows does not define.
const soErrorOpt = 0x1007

// sendSeenAtOnce is false under Wine: a poll request in flight learns of
// new data from wineserver's own poll loop, a moment after the send, so a
// Wait(0) right after the send may miss it (a Wait with any timeout sees
// it); Windows completes the request within the send.
const sendSeenAtOnce = false

// overshootSlack is how much later than the machine's own timed block a
// timed Wait may return (notLater): under Wine a Wait is a few round
// trips to wineserver, each of which waits for that process to be
// scheduled, so a loaded machine delays it more than the one wait it is
// compared with.
const overshootSlack = 100 * time.Millisecond

// numberReuseSure is false: Windows hands a closed handle's value out
// again at once, but a handle the runtime makes meanwhile (one per new
// thread) can take it first.
const numberReuseSure = false

// noSignals is why the scenarios that send signals skip on Windows.
const noSignals = "Windows has no signals: no wait is ever interrupted with EINTR"

// platformSkips names the scenarios that cannot apply on Windows, with
// why; the package doc lists them.
var platformSkips = map[string]string{
	"Register/Resize": "on Windows the set size bounds how many sockets are registered, " +
		"not their handle values; the mux package's TestIOCPSetSizeBoundsSockets checks that meaning",
	"Register/ManyFds": "10,000 loopback TCP connections are 20,000 sockets, and Wine keeps a Linux fd " +
		"for each in its one wineserver process, beyond the 20,000 fds a process may have here",
	"Lifetime/CloexecNoLeak": "the Go runtime opens handles of its own at any moment (one per new " +
		"thread), so the handle table before and after cannot tell the Poller's apart; the mux " +
		"package's TestIOCPOpenCloseLeaksNothing counts handles over 1,000 Open and Close instead",
	"Wait/Signals":       noSignals,
	"Wait/SingleFdEINTR": noSignals,
}

func pollerSignals(t *testing.T, _ *harness)                 { t.Skip(noSignals) }
func loopWaitEINTR(t *testing.T, _ *harness, _ *aeloop.Loop) { t.Skip(noSignals) }

// outOfRange lists values that a Poller refuses with ErrRange on Windows,
// whatever its set size (which bounds a count there): negative ones and
// those above 32 bits, which no handle has.
func outOfRange(int) []int { return []int{-1, -1000, math.MinInt, 1 << 32, math.MaxInt} }

func sysBind(fd int, sa *inet4) error    { return windows.Bind(windows.Handle(fd), sa) }
func sysListen(fd, backlog int) error    { return windows.Listen(windows.Handle(fd), backlog) }
func sysConnect(fd int, sa *inet4) error { return windows.Connect(windows.Handle(fd), sa) }
func sysAccept(l int) (int, error)       { return fdtest.Accept(l) }

func sysSendto(fd int, p []byte, sa *inet4) error {
	return windows.Sendto(windows.Handle(fd), p, 0, sa)
}

func sysGetsockname(fd int) (*inet4, error) {
	sa, err := windows.Getsockname(windows.Handle(fd))
	if err != nil {
		return nil, err
	}
	in4, _ := sa.(*windows.SockaddrInet4)
	return in4, nil
}

func sysRecvfrom(fd int, p []byte) (int, error) {
	n, _, err := windows.Recvfrom(windows.Handle(fd), p, 0)
	return n, err
}

// soError returns the socket's pending error (SO_ERROR), nil for none.
func soError(fd int) (error, error) {
	e, err := windows.GetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, soErrorOpt)
	if err != nil || e == 0 {
		return nil, err
	}
	return windows.Errno(e), nil
}

// lingerZero makes fd's close send an RST.
func lingerZero(fd int) error {
	return windows.SetsockoptLinger(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_LINGER,
		&windows.Linger{Onoff: 1, Linger: 0})
}

// openFile opens name (a file or a directory) for reading, not inherited.
func openFile(name string) (int, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return -1, err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return -1, err
	}
	return int(h), nil
}

// dupAbove duplicates fd to a handle value at or above min, not inherited:
// Windows picks the value, so it duplicates until one is high enough
// (values grow as handles are made) and closes the others.
func dupAbove(fd, min int) (int, error) {
	var low []windows.Handle
	defer func() {
		for _, h := range low {
			windows.CloseHandle(h)
		}
	}()
	self := windows.CurrentProcess()
	for range 1 << 14 {
		var h windows.Handle
		if err := windows.DuplicateHandle(self, windows.Handle(fd), self, &h, 0, false, windows.DUPLICATE_SAME_ACCESS); err != nil {
			return -1, err
		}
		if int(h) >= min {
			return int(h), nil
		}
		low = append(low, h)
	}
	return -1, fmt.Errorf("no duplicate of handle %d reached %d", fd, min)
}

// isCloexec reports whether fd is not inherited by child processes, the
// Windows form of close-on-exec.
func isCloexec(fd int) (bool, error) {
	flags, err := winsock.HandleFlags(fd)
	if err != nil {
		return false, err
	}
	return flags&windows.HANDLE_FLAG_INHERIT == 0, nil
}

// sleepOnce is one wait of d, rounded up to whole milliseconds, on an
// event that is never set: the same timed block and wake-up path as a
// Poller's GetQueuedCompletionStatusEx (under Wine both go through
// wineserver, which a plain Sleep does not), as nanosleep(2) is on unix.
func sleepOnce(d time.Duration) error {
	never, err := neverSet()
	if err != nil {
		return err
	}
	_, err = windows.WaitForSingleObject(never, uint32((d+time.Millisecond-1)/time.Millisecond))
	return err
}

var neverSet = sync.OnceValues(func() (windows.Handle, error) { return windows.CreateEvent(nil, 1, 0, nil) })

// pollOne waits, independently of the Poller under test (with WSAPoll, as
// mux.WaitFd does), until fd is ready for m or timeout passes.
func pollOne(fd int, m event.Mask, timeout time.Duration) bool {
	got, err := mux.WaitFd(fd, m, timeout)
	return err == nil && got != event.None
}

// raiseNofile returns how many handles a process may have: Windows has no
// fd limit to raise, only its own bound of 2^24 handles.
func raiseNofile() uint64 { return 1 << 24 }
