//go:build unix

// Package fdtest makes the pipes, socketpairs and sockets that aemux's
// tests watch, the same way on every unix: Linux has pipe2(2) and
// SOCK_NONBLOCK, macOS has neither, so the flags are set after creation
// under syscall.ForkLock, as package os does, so that no concurrent fork
// and exec inherits the fds.
package fdtest

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Pipe returns a pipe's read and write ends, non-blocking and close-on-exec.
func Pipe() (r, w int, err error) {
	var p [2]int
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	if err := unix.Pipe(p[:]); err != nil {
		return -1, -1, fmt.Errorf("pipe: %w", err)
	}
	if err := setFlags(p[0], p[1]); err != nil {
		return -1, -1, err
	}
	return p[0], p[1], nil
}

// Socketpair returns a connected AF_UNIX stream socketpair, non-blocking
// and close-on-exec.
func Socketpair() (a, b int, err error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("socketpair: %w", err)
	}
	if err := setFlags(sp[0], sp[1]); err != nil {
		return -1, -1, err
	}
	return sp[0], sp[1], nil
}

// Socket returns a new socket of the given domain and type, non-blocking
// and close-on-exec.
func Socket(domain, typ int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Socket(domain, typ, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	if err := setFlags(fd); err != nil {
		return -1, err
	}
	return fd, nil
}

// Accept accepts one pending connection on the listening socket l and
// returns it non-blocking and close-on-exec. The error is accept(2)'s own
// (EAGAIN when nothing is pending), so that callers can compare it.
func Accept(l int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, _, err := unix.Accept(l)
	if err != nil {
		return -1, err
	}
	if err := setFlags(fd); err != nil {
		return -1, err
	}
	return fd, nil
}

// setFlags makes every fd close-on-exec and non-blocking, closing them all
// on failure.
func setFlags(fds ...int) error {
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			return fmt.Errorf("set non-blocking fd %d: %w", fd, err)
		}
	}
	return nil
}

// OpenFds lists the process's open fds, in order: from /proc/self/fd where
// it exists (Linux), else by asking fcntl(F_GETFD) about every number
// below the fd limit (capped at 65,536).
func OpenFds() []int {
	if d, err := os.Open("/proc/self/fd"); err == nil {
		self := int(d.Fd())
		names, err := d.Readdirnames(-1)
		d.Close()
		if err == nil {
			var fds []int
			for _, n := range names {
				fd, err := strconv.Atoi(n)
				if err == nil && fd != self {
					fds = append(fds, fd)
				}
			}
			slices.Sort(fds)
			return fds
		}
	}
	limit := 1 << 16
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && uint64(lim.Cur) < uint64(limit) {
		limit = int(lim.Cur)
	}
	var fds []int
	for fd := 0; fd < limit; fd++ {
		if IsOpen(fd) {
			fds = append(fds, fd)
		}
	}
	return fds
}

// IsOpen reports whether fd is an open descriptor.
func IsOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}
