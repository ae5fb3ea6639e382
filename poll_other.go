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

func (b *pollBackend) poll(timeout time.Duration) (int, error) {
	return unix.Poll(b.fds, timeoutMs(timeout))
}
