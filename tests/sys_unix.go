//go:build unix

package tests

import (
	"math"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux/event"
)

// The socket calls of the harness and the scenarios, with the kernel's own
// errors; sys_windows.go has the Winsock ones under the same names.

type inet4 = unix.SockaddrInet4

const (
	afInet     = unix.AF_INET
	sockStream = unix.SOCK_STREAM
	sockDgram  = unix.SOCK_DGRAM
)

var (
	errAgain       error = unix.EAGAIN      // nothing to read, no room to write
	errInProgress  error = unix.EINPROGRESS // a non-blocking connect under way
	errConnRefused error = unix.ECONNREFUSED
	errConnReset   error = unix.ECONNRESET
	errConnAborted error = unix.ECONNABORTED
)

// sendSeenAtOnce is true where a poll that does not wait already sees
// what a send made ready just before it: the kernel marks the peer
// readable within the send.
const sendSeenAtOnce = true

// overshootSlack is how much later than the machine's own timed block a
// timed Wait may return (notLater).
const overshootSlack = 20 * time.Millisecond

// numberReuseSure is true where a closed fd's number is the next one
// handed out: the kernel gives the lowest free number.
const numberReuseSure = true

// platformSkips names the scenarios that cannot apply here, with why:
// none on unix.
var platformSkips map[string]string

// outOfRange lists fds that a Poller of set size n refuses with ErrRange:
// negative ones and those at or above n.
func outOfRange(n int) []int { return []int{-1, -1000, math.MinInt, n, n + 1, math.MaxInt} }

func sysBind(fd int, sa *inet4) error             { return unix.Bind(fd, sa) }
func sysListen(fd, backlog int) error             { return unix.Listen(fd, backlog) }
func sysConnect(fd int, sa *inet4) error          { return unix.Connect(fd, sa) }
func sysSendto(fd int, p []byte, sa *inet4) error { return unix.Sendto(fd, p, 0, sa) }

func sysGetsockname(fd int) (*inet4, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, err
	}
	in4, _ := sa.(*unix.SockaddrInet4)
	return in4, nil
}

// sysAccept is accept(2) itself, with no flags set on the new fd.
func sysAccept(l int) (int, error) {
	fd, _, err := unix.Accept(l)
	return fd, err
}

func sysRecvfrom(fd int, p []byte) (int, error) {
	n, _, err := unix.Recvfrom(fd, p, 0)
	return n, err
}

// soError returns the socket's pending error (SO_ERROR), nil for none.
func soError(fd int) (error, error) {
	e, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil || e == 0 {
		return nil, err
	}
	return unix.Errno(e), nil
}

// lingerZero makes fd's close send an RST.
func lingerZero(fd int) error {
	return unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
}

// openFile opens name (a file or a directory) read-only, close-on-exec.
func openFile(name string) (int, error) { return unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC, 0) }

// dupAbove duplicates fd to the lowest free number at or above min,
// close-on-exec.
func dupAbove(fd, min int) (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, min) }

// isCloexec reports whether fd is close-on-exec.
func isCloexec(fd int) (bool, error) {
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return flags&unix.FD_CLOEXEC != 0, err
}

// pollOne waits with poll(2) itself, independently of the Poller under
// test, until fd is ready for m (Readable, Writable) or timeout passes.
func pollOne(fd int, m event.Mask, timeout time.Duration) bool {
	var events int16
	if m&event.Readable != 0 {
		events |= unix.POLLIN
	}
	if m&event.Writable != 0 {
		events |= unix.POLLOUT
	}
	deadline := time.Now().Add(timeout)
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
		ms := int(time.Until(deadline)/time.Millisecond) + 1
		n, err := unix.Poll(pfd, ms)
		if n > 0 {
			return true
		}
		if (err != nil && err != unix.EINTR) || time.Now().After(deadline) {
			return false
		}
	}
}

// raiseNofile raises the soft fd limit to the hard one and returns the
// soft limit in force.
func raiseNofile() uint64 {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur < lim.Max {
		want := lim
		want.Cur = want.Max
		if unix.Setrlimit(unix.RLIMIT_NOFILE, &want) == nil {
			return uint64(want.Cur)
		}
	}
	return uint64(lim.Cur)
}
