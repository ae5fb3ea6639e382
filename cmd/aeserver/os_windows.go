package main

import (
	"errors"

	"golang.org/x/sys/windows"
)

// manyLoops is false: Windows has no SO_REUSEPORT to give each loop a
// listener of its own, so -loops above 1 is refused.
const manyLoops = false

// fdLimit: Windows has no per-process socket limit to raise or fit
// -maxclients to.
func fdLimit() (limit uint64, ok bool) { return 0, false }

// outOfFds reports whether an accept failed for want of sockets or buffer
// space (WSAEMFILE, WSAENOBUFS).
func outOfFds(err error) bool {
	return errors.Is(err, windows.WSAEMFILE) || errors.Is(err, windows.WSAENOBUFS)
}

// openSpare: Windows has no fd limit to keep a spare fd for; out of
// sockets (WSAENOBUFS), accepting pauses instead (see shed).
func openSpare() int { return -1 }

// closeSpare does nothing: there are no spare fds on Windows.
func closeSpare(int) {}
