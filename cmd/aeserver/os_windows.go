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
