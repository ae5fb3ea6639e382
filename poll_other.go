//go:build unix && !linux

package mux

import (
	"math"
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
	ms := -1
	if timeout >= 0 {
		ms = int(min((timeout+time.Millisecond-1)/time.Millisecond, math.MaxInt32))
	}
	return unix.Poll(b.fds, ms)
}
