package mux

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/aemux/mux/internal/winsock"

	"github.com/aemux/mux/event"
)

// wsaPollFd is WSAPOLLFD.
type wsaPollFd struct {
	fd      windows.Handle
	events  int16
	revents int16
}

// The WSAPoll event bits (POLLRDNORM and POLLWRNORM are what POLLIN and
// POLLOUT stand for there).
const (
	wsaPollErr    = 0x0001
	wsaPollHup    = 0x0002
	wsaPollNval   = 0x0004
	wsaPollWrNorm = 0x0010
	wsaPollRdNorm = 0x0100
)

var (
	procWSAPoll = windows.NewLazySystemDLL("ws2_32.dll").NewProc("WSAPoll")
)

// WaitFd waits until the socket fd is ready for mask (Readable, Writable or
// both) or timeout passes, with WSAPoll on fd alone, no Poller needed: the
// single-fd wait under aeloop.Wait (ae's aeWait). timeout < 0 waits
// without limit; 0 only looks. A timeout is rounded up to whole
// milliseconds and never ends the wait early.
//
// It returns the conditions as WSAPoll reported them: Readable for
// POLLRDNORM, Writable for POLLWRNORM, Hangup for POLLHUP and Error for
// POLLERR; None on timeout. A closed handle is an error matching
// syscall.EBADF, any other handle that is not a socket ErrNotPollable;
// fd < 0 is ErrRange; mask bits other than Readable and Writable are
// ErrBadMask. WSAPoll before Windows 10 2004 does not report a failed
// connect; Wine's does.
func WaitFd(fd int, mask event.Mask, timeout time.Duration) (event.Mask, error) {
	if fd < 0 || fd > maxHandle {
		return event.None, fmt.Errorf("aemux: wait fd %d: %w", fd, ErrRange)
	}
	if mask&^event.IO != 0 {
		return event.None, fmt.Errorf("aemux: wait fd %d: %w: %v", fd, ErrBadMask, mask)
	}
	if err := wsaStartup(); err != nil {
		return event.None, err
	}
	pfd := wsaPollFd{fd: windows.Handle(fd)}
	if mask&event.Readable != 0 {
		pfd.events |= wsaPollRdNorm
	}
	if mask&event.Writable != 0 {
		pfd.events |= wsaPollWrNorm
	}
	dl := newDeadline(timeout)
	for {
		pfd.revents = 0
		r, _, e := syscall.SyscallN(procWSAPoll.Addr(), uintptr(unsafe.Pointer(&pfd)), 1, uintptr(timeoutMs(timeout)))
		if int32(r) < 0 {
			return event.None, fmt.Errorf("aemux: wait fd %d: %w", fd, pollErr(fd, e))
		}
		if r > 0 {
			if pfd.revents&wsaPollNval != 0 {
				return event.None, fmt.Errorf("aemux: wait fd %d: %w", fd, pollErr(fd, windows.WSAENOTSOCK))
			}
			var m event.Mask
			for _, c := range [...]struct {
				revent int16
				bit    event.Mask
			}{{wsaPollRdNorm, event.Readable}, {wsaPollWrNorm, event.Writable}, {wsaPollHup, event.Hangup}, {wsaPollErr, event.Error}} {
				if pfd.revents&c.revent != 0 {
					m |= c.bit
				}
			}
			return m, nil
		}
		var more bool
		if timeout, more = dl.retry(); !more {
			return event.None, nil
		}
	}
}

// pollErr turns WSAPoll's error for fd into the package's: EBADF for a
// handle that is not open, ErrNotPollable for one that is no socket.
func pollErr(fd int, e error) error {
	if e != windows.WSAENOTSOCK {
		return syscallErr("WSAPoll", e)
	}
	if _, err := windows.GetFileType(windows.Handle(fd)); err != nil {
		return fmt.Errorf("handle %d is not open: %w (%w)", fd, syscall.EBADF, err)
	}
	return fmt.Errorf("%w: handle %d is not a socket", ErrNotPollable, fd)
}

// wsaStartup initializes Winsock once for WaitFd (a Poller does it in
// Open); it is never undone, as a process's Winsock use seldom is.
func wsaStartup() error {
	if err := procWSAPoll.Find(); err != nil {
		return err
	}
	return syscallErr("WSAStartup", winsock.Startup())
}
