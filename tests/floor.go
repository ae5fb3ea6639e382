package tests

import (
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
		if err := sleepOnce(left); err != syscall.EINTR {
			break
		}
	}
	return time.Since(start)
}

// notLater checks what the timing scenarios promise beyond "never early":
// the best of a Wait's overshoots (over) is within slack of the worst of
// the machine's own, a bare kernelSleep of the same length measured
// alternately with them (floor). A load spike delays single samples on
// either side, never all of a Wait's; a Wait that waits longer than it was
// asked to, every time, by more than the machine ever did, still fails.
func notLater(t *testing.T, what string, over, floor []time.Duration, slack time.Duration) bool {
	t.Helper()
	best, worstFloor := slices.Min(over), slices.Max(floor)
	return assert.LessOrEqual(t, best, worstFloor+slack,
		"%s: even the best overshoot (%v) is more than %v past the worst of a bare sleep of the same length (%v)",
		what, best, slack, worstFloor)
}
