//go:build unix && !linux

package tests

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadSignaller returns a function that sends sig to the process:
// without tgkill(2) the kernel picks the thread, so a Wait in the calling
// thread is interrupted only sometimes (signalsHit is false).
func threadSignaller(sig unix.Signal) func() error {
	pid := unix.Getpid()
	return func() error { return unix.Kill(pid, sig) }
}

// signalsHit is false: the signals may reach other threads.
const signalsHit = false

// sleepOnce is one select(2) on no fds for d, rounded up to whole
// microseconds: macOS has no nanosleep(2) in golang.org/x/sys/unix.
func sleepOnce(d time.Duration) error {
	tv := unix.NsecToTimeval(int64(d + time.Microsecond - 1))
	_, err := unix.Select(0, nil, nil, nil, &tv)
	return err
}
