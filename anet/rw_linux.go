package anet

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysRead and sysWrite are read(2) and write(2) on non-blocking sockets,
// so the calls cannot block: they go through RawSyscall and skip the
// scheduler hand-off that unix.Read and unix.Write make for calls that may
// block (entersyscall/exitsyscall, about 0.5 µs a call). Go's runtime
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
