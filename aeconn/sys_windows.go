package aeconn

import (
	"errors"

	"golang.org/x/sys/windows"
)

// outOfFds reports whether an accept failed for lack of sockets.
func outOfFds(err error) bool {
	return errors.Is(err, windows.WSAEMFILE) || errors.Is(err, windows.WSAENOBUFS)
}

// fitClients returns want: Windows has no fd limit to fit.
func fitClients(want, _, _ int, _ func(error)) int { return want }

// openSpare: Windows has no fd limit to keep a spare fd for; out of
// sockets, accepting pauses instead (see shed).
func openSpare() int { return -1 }

// closeSpare does nothing: there are no spare fds on Windows.
func closeSpare(int) {}
