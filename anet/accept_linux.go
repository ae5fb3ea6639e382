//go:build linux

package anet

import "golang.org/x/sys/unix"

// accept takes a connection with accept4(2). It returns the errno
// unwrapped, for the caller's retry loop, and the name of the call.
//
// When the caller does not want the peer's address, accept4 is called
// directly with no address buffer, so nothing is allocated: unix.Accept4
// always heap-allocates a buffer and the decoded address. If the kernel
// lacks the accept4 system call number (linux/386 and s390x before 4.3,
// where x/sys goes through socketcall), unix.Accept4 is used.
func accept(lfd int, wantAddr bool) (int, unix.Sockaddr, string, error) {
	if !wantAddr {
		fd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, acceptFlags, 0, 0)
		if errno == 0 {
			return int(fd), nil, "", nil
		}
		if errno != unix.ENOSYS {
			return -1, nil, acceptCall, errno
		}
	}
	fd, sa, err := unix.Accept4(lfd, acceptFlags)
	if err != nil {
		return -1, nil, acceptCall, err
	}
	return fd, sa, "", nil
}
