//go:build linux

package mux

import (
	"time"

	"golang.org/x/sys/unix"
)

// On Linux the poll backend uses ppoll(2): a timespec timeout, and
// POLLRDHUP to learn of a peer's shutdown(SHUT_WR).
const (
	pollRdhup      = unix.POLLRDHUP
	pollResolution = time.Nanosecond
	pollCall       = "ppoll"
)

// pollFds is one ppoll(2) on fds; ts is where the timeout is written (a
// field of the caller's, so that the call allocates nothing).
func pollFds(fds []unix.PollFd, timeout time.Duration, ts *unix.Timespec) (int, error) {
	if timeout < 0 {
		return unix.Ppoll(fds, nil, nil)
	}
	*ts = unix.NsecToTimespec(int64(timeout))
	return unix.Ppoll(fds, ts, nil)
}
