package mux_test

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

// Every test of the package must leave no goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// closeDuringWait closes p while a goroutine is blocked in p.Wait (waiting
// again whenever Wait returns events) and asserts that Close unblocks that
// Wait with ErrClosed, and that a second Close and a Wake return ErrClosed.
func closeDuringWait(t *testing.T, p *mux.Poller) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		fired := make([]event.Fired, 4)
		for {
			if _, err := p.Wait(fired, -1); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, p.Close())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, mux.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Wait")
	}
	assert.ErrorIs(t, p.Close(), mux.ErrClosed)
	assert.ErrorIs(t, p.Wake(), mux.ErrClosed)
}

// timedWaits runs timed Waits of d on p, which has nothing ready, runs
// times: each returns no event and not before d is over. How late they
// return is logged for the reader (median, p99, max).
func timedWaits(t *testing.T, p *mux.Poller, d time.Duration, runs int) {
	t.Helper()
	fired := make([]event.Fired, 4)
	over := make([]time.Duration, runs)
	for i := range over {
		start := time.Now()
		n, err := p.Wait(fired, d)
		el := time.Since(start)
		require.NoError(t, err)
		require.Zero(t, n)
		require.GreaterOrEqual(t, el, d, "a timed Wait returned early")
		over[i] = el - d
	}
	sort.Slice(over, func(i, j int) bool { return over[i] < over[j] })
	t.Logf("%s %v: overshoot median %v p99 %v max %v (resolution %v)", p.Name(), d,
		over[len(over)/2], over[len(over)*99/100], over[len(over)-1], p.Caps().Resolution)
}
