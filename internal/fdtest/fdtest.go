// Package fdtest makes the pipes and socketpairs that aemux's tests watch,
// the same way on every unix: Linux has pipe2(2) and SOCK_NONBLOCK, macOS
// has neither, so the flags are set after creation under syscall.ForkLock,
// as package os does, so that no concurrent fork and exec inherits the fds.
package fdtest

import (
	"fmt"
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

// setFlags makes both fds close-on-exec and non-blocking, closing both on
// failure.
func setFlags(a, b int) error {
	for _, fd := range [2]int{a, b} {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(a)
			unix.Close(b)
			return fmt.Errorf("set non-blocking fd %d: %w", fd, err)
		}
	}
	return nil
}
