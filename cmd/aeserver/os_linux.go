//go:build linux

package main

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysRead and sysWrite are read(2) and write(2) on the clients' sockets,
// which are non-blocking, so the calls cannot block: they go through
// RawSyscall and skip the scheduler hand-off that unix.Read and unix.Write
// make for calls that may block (entersyscall/exitsyscall, about 0.5 µs a
// call on the machine bench/ reports on). Go's runtime
// poller makes the same choice for its non-blocking epoll_wait.
func sysRead(fd int, p []byte) (int, error) { return rawIO(unix.SYS_READ, fd, p) }

func sysWrite(fd int, p []byte) (int, error) { return rawIO(unix.SYS_WRITE, fd, p) }

func rawIO(trap uintptr, fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, errno := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// lowerTimerSlack makes the kernel end this thread's timed waits on time
// rather than up to 50 µs late (the default timer slack), for serverCron
// and the clients' timeouts. Called on each loop's locked thread.
func lowerTimerSlack() { unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) }
