//go:build unix && !linux

package mux

import (
	"time"

	"golang.org/x/sys/unix"
)

// Elsewhere the poll backend uses poll(2), whose timeout is whole
// milliseconds: rounded up so a Wait never ends early. POLLRDHUP is
// Linux-only, so a peer's shutdown(SHUT_WR) shows as Readable (read returns
// 0) without the Hangup hint.
const (
	pollRdhup      = 0
	pollResolution = time.Millisecond
	pollCall       = "poll"
)

// pollFds is one poll(2) on fds; ts is unused (poll takes milliseconds).
func pollFds(fds []unix.PollFd, timeout time.Duration, _ *unix.Timespec) (int, error) {
	return unix.Poll(fds, timeoutMs(timeout))
}
