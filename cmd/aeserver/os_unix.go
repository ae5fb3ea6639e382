//go:build unix

package main

import (
	"errors"

	"golang.org/x/sys/unix"
)

// manyLoops: -loops N gives each loop its own SO_REUSEPORT listener.
const manyLoops = true

// fdLimit raises the soft RLIMIT_NOFILE to the hard one and returns it;
// ok is false when the limit cannot be read.
func fdLimit() (limit uint64, ok bool) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, false
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
		unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	}
	return uint64(lim.Cur), true // int64 on some BSDs
}

// outOfFds reports whether an accept failed for want of fds.
func outOfFds(err error) bool { return errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) }

// openSpare opens the fd that shed closes to accept a connection when the
// process is out of fds; -1 when none can be opened.
func openSpare() int {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
}

// closeSpare closes a spare fd (openSpare); -1 is ignored.
func closeSpare(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}
