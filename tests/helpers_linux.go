//go:build linux

package tests

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadSignaller returns a function that sends sig to the calling
// thread: the caller locks its goroutine to the thread first. On Linux it
// is tgkill(2), so every signal interrupts that very thread; signalsHit
// says so.
func threadSignaller(sig unix.Signal) func() error {
	pid, tid := unix.Getpid(), unix.Gettid()
	return func() error { return unix.Tgkill(pid, tid, sig) }
}

// signalsHit is true where threadSignaller reaches the waiting thread
// for sure, so a timed Wait under a signal storm must see EINTR.
const signalsHit = true

// sleepOnce is one nanosleep(2) of d.
func sleepOnce(d time.Duration) error {
	ts := unix.NsecToTimespec(int64(d))
	return unix.Nanosleep(&ts, nil)
}
