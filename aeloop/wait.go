package aeloop

import (
	"fmt"
	"math"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

// Wait waits, with one poll(2) and without any loop, until fd is ready for
// mask or timeout passes (aeWait); timeout < 0 waits without limit. It
// returns what is ready: Readable for POLLIN, Writable for POLLOUT, and
// Writable for POLLERR and POLLHUP as in ae (so a pipe whose writer closed
// reports Writable), with the Error or Hangup hint added. A timeout returns
// (None, nil).
//
// Unlike aeWait, a signal (EINTR) does not end the wait early: it is
// retried with the time that remains. The timeout is rounded up to whole
// milliseconds, so it never ends early. A closed fd (POLLNVAL, which ae
// reports as 0) is an error matching unix.EBADF; fd < 0 is mux.ErrRange;
// mask bits other than Readable and Writable are mux.ErrBadMask.
func Wait(fd int, mask event.Mask, timeout time.Duration) (event.Mask, error) {
	if fd < 0 {
		return event.None, fmt.Errorf("aeloop: wait fd %d: %w", fd, mux.ErrRange)
	}
	if mask&^event.IO != 0 {
		return event.None, fmt.Errorf("aeloop: wait fd %d: %w: %v", fd, mux.ErrBadMask, mask)
	}
	pfd := []unix.PollFd{{Fd: int32(fd)}}
	if mask&event.Readable != 0 {
		pfd[0].Events |= unix.POLLIN
	}
	if mask&event.Writable != 0 {
		pfd[0].Events |= unix.POLLOUT
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		ms := -1
		if timeout >= 0 {
			ms = int(min((timeout+time.Millisecond-1)/time.Millisecond, math.MaxInt32))
		}
		n, err := unix.Poll(pfd, ms)
		if err != nil && err != unix.EINTR {
			return event.None, fmt.Errorf("aeloop: wait fd %d: %w", fd, os.NewSyscallError("poll", err))
		}
		if n > 0 {
			return reventsToMask(fd, pfd[0].Revents)
		}
		if timeout == 0 {
			return event.None, nil
		}
		if timeout > 0 {
			// EINTR, or a poll that woke a little before the deadline.
			if timeout = time.Until(deadline); timeout <= 0 {
				return event.None, nil
			}
		}
	}
}

func reventsToMask(fd int, r int16) (event.Mask, error) {
	if r&unix.POLLNVAL != 0 {
		return event.None, fmt.Errorf("aeloop: wait fd %d: %w", fd, os.NewSyscallError("poll", unix.EBADF))
	}
	var m event.Mask
	if r&unix.POLLIN != 0 {
		m |= event.Readable
	}
	if r&unix.POLLOUT != 0 {
		m |= event.Writable
	}
	if r&unix.POLLERR != 0 {
		m |= event.Writable | event.Error
	}
	if r&unix.POLLHUP != 0 {
		m |= event.Writable | event.Hangup
	}
	return m, nil
}
