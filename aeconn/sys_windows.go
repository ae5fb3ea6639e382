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
