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
	for left := d; left > 0; left = d - time.Since(start) {
		if err := sleepOnce(left); err != unix.EINTR {
			break
		}
	}
	return time.Since(start)
}
