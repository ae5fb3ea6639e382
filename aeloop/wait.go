package aeloop

import (
	"time"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

// Wait waits, without any loop, until fd is ready for mask or timeout
// passes (aeWait); timeout < 0 waits without limit. It returns what is
// ready: Readable for POLLIN, Writable for POLLOUT, and Writable for
// POLLERR and POLLHUP as in ae (so a pipe whose writer closed reports
// Writable), with the Error or Hangup hint added. A timeout returns
// (None, nil).
//
// The wait is mux.WaitFd, with its rules: unlike aeWait, a signal (EINTR)
// does not end the wait early but is retried with the time that remains,
// and a timeout is never cut short (where poll(2) takes whole
// milliseconds, it is rounded up). A closed fd (POLLNVAL, which ae
// reports as 0) is an error matching unix.EBADF; fd < 0 is mux.ErrRange;
// mask bits other than Readable and Writable are mux.ErrBadMask.
func Wait(fd int, mask Mask, timeout time.Duration) (Mask, error) {
	m, err := mux.WaitFd(fd, mask, timeout)
	if m&(event.Error|event.Hangup) != 0 {
		m |= event.Writable
	}
	return m, err
}
