package tests

import (
	"time"

	"golang.org/x/sys/unix"
)

// kernelSleep blocks the calling thread in one bare nanosleep(2) for d,
// resumed with the time left after each EINTR, and returns how long that
// took. It is the machine's own floor for a timed block: the same kernel
// timer and the same wake-up path as a timed Wait, with none of our code.
// Timing checks compare a Wait's overshoot with kernelSleep's, measured
// side by side in the same run, so that a loaded or throttled machine,
// which delays both alike, does not fail them, while a Wait that waits
// longer than it was asked to still does.
func kernelSleep(d time.Duration) time.Duration {
	start := time.Now()
	ts := unix.NsecToTimespec(int64(d))
	for {
		var rem unix.Timespec
		if err := unix.Nanosleep(&ts, &rem); err != unix.EINTR {
			break
		}
		ts = rem
	}
	return time.Since(start)
}
