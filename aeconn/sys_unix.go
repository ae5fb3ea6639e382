//go:build unix

package aeconn

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// outOfFds reports whether an accept failed for lack of fds.
func outOfFds(err error) bool {
	return errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE)
}

// fitClients returns how many clients the fd limit allows, at most want,
// after raising the soft limit as far as needed and allowed (Redis's
// adjustOpenFilesLimit). Each loop needs a few fds of its own, and each
// listener one per loop.
func fitClients(want, loops, listeners int, report func(error)) int {
	need := uint64(want + reservedFds + loops*(4+listeners))
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) != nil {
		return want
	}
	if uint64(lim.Cur) >= need {
		return want
	}
	old := lim.Cur
	setTo(&lim.Cur, min(uint64(lim.Max), need))
	if unix.Setrlimit(unix.RLIMIT_NOFILE, &lim) != nil {
		lim.Cur = old
	}
	if uint64(lim.Cur) >= need {
		return want
	}
	got := max(int(uint64(lim.Cur))-(int(need)-want), 1)
	report(fmt.Errorf("%w: %d (RLIMIT_NOFILE %d, asked for %d)", ErrMaxClientsLowered, got, lim.Cur, want))
	return got
}

// setTo stores v in an rlimit field, whose type differs among the unixes.
func setTo[N int64 | uint64](p *N, v uint64) { *p = N(v) }

// openSpare opens the fd that shed closes to accept into when the process
// is out of fds; -1 when none can be opened.
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
