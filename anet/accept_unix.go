//go:build dragonfly || freebsd

package anet

import "golang.org/x/sys/unix"

// accept takes a connection with accept4(2). It returns the errno
// unwrapped, for the caller's retry loop, and the name of the call. The
// address is always decoded (wantAddr is for Linux's allocation-free path).
func accept(lfd int, _ bool) (int, unix.Sockaddr, string, error) {
	fd, sa, err := unix.Accept4(lfd, acceptFlags)
	if err != nil {
		return -1, nil, acceptCall, err
	}
	return fd, sa, "", nil
}
