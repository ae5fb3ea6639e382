//go:build unix

package mux

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux/event"
)

// WaitFd waits until fd is ready for mask (Readable, Writable or both) or
// timeout passes, with poll(2) (ppoll(2) on Linux) on fd alone, no Poller
// needed: the single-fd wait under aeloop.Wait (ae's aeWait). timeout < 0
// waits without limit; 0 only looks.
//
// Like a Poller's Wait it never ends early: a signal (EINTR) is retried
// with the time that remains, and where poll(2) takes whole milliseconds
// the timeout is rounded up. It returns the conditions as the kernel
// reported them, not folded into Readable|Writable as a Poller's reports
// are: Readable for POLLIN, Writable for POLLOUT, Hangup for POLLHUP and
// Error for POLLERR; None on timeout. A closed fd (POLLNVAL) is an error
// matching unix.EBADF; fd < 0 is ErrRange; mask bits other than Readable
// and Writable are ErrBadMask.
func WaitFd(fd int, mask event.Mask, timeout time.Duration) (event.Mask, error) {
	if fd < 0 {
		return event.None, fmt.Errorf("aemux: wait fd %d: %w", fd, ErrRange)
	}
	if mask&^event.IO != 0 {
		return event.None, fmt.Errorf("aemux: wait fd %d: %w: %v", fd, ErrBadMask, mask)
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: maskToPoll(mask) &^ pollRdhup}}
	var ts unix.Timespec
	dl := newDeadline(timeout)
	for {
		n, err := pollFds(pfd, timeout, &ts)
		if err != nil && err != unix.EINTR {
			return event.None, fmt.Errorf("aemux: wait fd %d: %w", fd, syscallErr(pollCall, err))
		}
		if n > 0 {
			return reventsMask(fd, pfd[0].Revents)
		}
		var more bool
		if timeout, more = dl.retry(); !more {
			return event.None, nil
		}
	}
}

// reventsMask maps one fd's poll revents to WaitFd's answer.
func reventsMask(fd int, r int16) (event.Mask, error) {
	if r&unix.POLLNVAL != 0 {
		return event.None, fmt.Errorf("aemux: wait fd %d: %w", fd, syscallErr(pollCall, unix.EBADF))
	}
	var m event.Mask
	for _, c := range [...]struct {
		revent int16
		bit    event.Mask
	}{{unix.POLLIN, event.Readable}, {unix.POLLOUT, event.Writable}, {unix.POLLHUP, event.Hangup}, {unix.POLLERR, event.Error}} {
		if r&c.revent != 0 {
			m |= c.bit
		}
	}
	return m, nil
}
