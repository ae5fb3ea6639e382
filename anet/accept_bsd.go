//go:build dragonfly || freebsd || netbsd || openbsd

package anet

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// accept takes a connection with accept4(2) (paccept on NetBSD). It
// returns the errno unwrapped, for the caller's retry loop, and the name
// of the call. The address is decoded only when wantAddr asks for it.
//
// golang.org/x/sys/unix has no Accept4 for NetBSD and OpenBSD, so the
// standard syscall package's is used on all four. Its errno type is
// unix.Errno, and the sockaddr is converted to x/sys's own types.
func accept(lfd int, wantAddr bool) (int, unix.Sockaddr, string, error) {
	fd, sa, err := syscall.Accept4(lfd, acceptFlags)
	if err != nil {
		return -1, nil, acceptCall, err
	}
	if !wantAddr {
		return fd, nil, "", nil
	}
	return fd, fromSyscall(sa), "", nil
}

// fromSyscall converts a syscall.Sockaddr to the golang.org/x/sys/unix
// type of the same family (nil for others).
func fromSyscall(sa syscall.Sockaddr) unix.Sockaddr {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &unix.SockaddrInet4{Port: sa.Port, Addr: sa.Addr}
	case *syscall.SockaddrInet6:
		return &unix.SockaddrInet6{Port: sa.Port, ZoneId: sa.ZoneId, Addr: sa.Addr}
	case *syscall.SockaddrUnix:
		return &unix.SockaddrUnix{Name: sa.Name}
	}
	return nil
}
