//go:build linux

// The Linux family's system calls and constants: accept4 without an
// address buffer, read and write without the scheduler, SIOCINQ, the
// abstract socket namespace, SO_REUSEPORT. The socket flags are
// sys_flags.go's, the keepalive timers keepalive_timers.go's.

package anet

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

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

// sysRead and sysWrite are read(2) and write(2) on non-blocking sockets,
// so the calls cannot block: they go through RawSyscall and skip the
// scheduler hand-off that unix.Read and unix.Write make for calls that may
// block (entersyscall/exitsyscall; its cost is measured once, in the epoll
// backend's file comment, the module root's backend_epoll.go). Go's runtime
// poller makes the same choice for its non-blocking epoll_wait. p is not
// empty. The errno comes back bare, for Read and Write to compare.
func sysRead(fd int, p []byte) (int, error) { return rawIO(unix.SYS_READ, fd, p) }

func sysWrite(fd int, p []byte) (int, error) { return rawIO(unix.SYS_WRITE, fd, p) }

func rawIO(trap uintptr, fd int, p []byte) (int, error) {
	n, _, errno := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// Pending's ioctl on Linux: SIOCINQ (the same number as FIONREAD and
// TIOCINQ).
const (
	fionread     = unix.SIOCINQ
	fionreadName = "SIOCINQ"
)

// abstractUnix: Linux has the abstract socket namespace, which
// golang.org/x/sys/unix writes with a leading '@' (and so decodes an
// unnamed socket as a lone "@").
const abstractUnix = true

// ReusePort's option.
const (
	soReusePort     = unix.SO_REUSEPORT
	soReusePortName = "SO_REUSEPORT"
)
