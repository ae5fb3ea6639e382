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

func (b *pollBackend) poll(timeout time.Duration) (int, error) {
	var ts *unix.Timespec
	if timeout >= 0 {
		b.ts = unix.NsecToTimespec(int64(timeout))
		ts = &b.ts
	}
	return unix.Ppoll(b.fds, ts, nil)
}
