//go:build dragonfly || freebsd || linux || netbsd || openbsd

package anet

import "golang.org/x/sys/unix"

// socket makes a socket that is non-blocking and close-on-exec from the
// start (SOCK_NONBLOCK|SOCK_CLOEXEC), so no fork can inherit it. It
// returns the name of the call for errors.
func socket(family, typ int) (int, string, error) {
	fd, err := unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, "socket", err
	}
	return fd, "", nil
}

// acceptCall names the accept system call in errors.
const acceptCall = "accept4"

// acceptFlags makes accepted fds non-blocking and close-on-exec from the
// start.
const acceptFlags = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
