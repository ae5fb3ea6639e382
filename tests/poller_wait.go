package tests

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

// modePoller opens a Poller in mode m when Caps says the backend has it,
// and returns it and the Caps bit. When Caps says it has not, it checks that
// the backend says so (Open fails with errors.ErrUnsupported) and returns
// nil.
func modePoller(t *testing.T, h *harness, m mux.Mode, has func(mux.Caps) bool) *mux.Poller {
	t.Helper()
	mp, err := h.tryOpen(pollerSetSize, mux.WithMode(m))
	switch {
	case has(h.p.Caps()) && err != nil:
		require.FailNow(t, fmt.Sprintf("Caps() reports the %v mode, but Open(WithMode(%v)): %v", m, m, err))
	case has(h.p.Caps()):
		assert.True(t, has(mp.Caps()), "a %v Poller's Caps() does not report the %v mode", m, m)
		return mp
	case err == nil:
		assert.Fail(t, fmt.Sprintf("Caps() of %s reports no %v mode, yet Open(WithMode(%v)) succeeded", h.p.Name(), m, m))
	case !errors.Is(err, errors.ErrUnsupported):
		assert.Fail(t, fmt.Sprintf("Open(WithMode(%v)) on %s: %v; want an error matching errors.ErrUnsupported", m, h.p.Name(), err))
	default:
		t.Logf("%s has no %v mode and says so: %v", h.p.Name(), m, err)
	}
	return nil
}

// Edge: one report per arrival; a partial read does not re-report
// until new data arrives.
func pollerEdge(t *testing.T, h *harness) {
	ep := modePoller(t, h, mux.Edge, func(c mux.Caps) bool { return c.Edge })
	if ep == nil {
		return
	}
	a, b := h.socketpair()
	h.mustAdd(ep, b, evR)
	h.write(a, "0123456789")
	h.expect(ep, soon, "the first arrival", entry(b, evR))
	h.waitIdle(ep, "no new data since the report")
	var buf [3]byte
	n, err := fdtest.Read(b, buf[:])
	require.Equal(t, 3, n, "partial read: %d, %v", n, err)
	require.NoError(t, err, "partial read: %d, %v", n, err)
	h.waitIdle(ep, "after a partial read, no new data")
	h.write(a, "x")
	h.expect(ep, soon, "a new arrival", entry(b, evR))
	h.waitIdle(ep, "no new data since the second report")
	n, err = drain(b)
	assert.Equal(t, 8, n, "drain: %d, %v; want 8 bytes, EAGAIN", n, err)
	assert.ErrorIs(t, err, errAgain, "drain: %d, %v; want 8 bytes, EAGAIN", n, err)

	// Writable: reported once when registered, not again while it stays so.
	c, _ := h.socketpair()
	h.mustAdd(ep, c, evW)
	h.expect(ep, soon, "an idle socket registered for Writable", entry(c, evW))
	h.waitIdle(ep, "still writable, nothing changed")
}

// Oneshot: one report, then silence; re-arming with data still
// queued reports at once.
func pollerOneshot(t *testing.T, h *harness) {
	op := modePoller(t, h, mux.Oneshot, func(c mux.Caps) bool { return c.Oneshot })
	if op == nil {
		return
	}
	t.Logf("Oneshot emulated by the Poller: %v", op.Caps().OneshotEmulated)
	a, b := h.socketpair()
	h.mustAdd(op, b, evR)
	h.write(a, "x")
	h.expect(op, soon, "armed, data arrives", entry(b, evR))
	h.waitIdle(op, "reported once, data still queued")
	h.write(a, "y")
	h.waitIdle(op, "new data does not re-arm")
	h.wantMask(op, b, evR, "a disarmed fd keeps its mask")

	s := op.Stats()
	h.mustAdd(op, b, evR)
	h.wantCalls(op, s, "re-arming Add with the same mask", mux.Stats{Modifies: 1})
	h.expect(op, 0, "re-armed with data queued, Wait(0)", entry(b, evR))
	h.waitIdle(op, "reported once after the re-arm")

	c, d := h.socketpair()
	h.write(d, "x")
	h.mustAdd(op, c, evRW)
	h.expect(op, soon, "readable and writable, one shot", entry(c, evRW))
	h.waitIdle(op, "both bits disarmed")
}

// Timeout 0 never blocks and still returns ready fds.
func pollerTimeoutZero(t *testing.T, h *harness) {
	p := h.p
	a, b := h.socketpair()
	c, _ := h.socketpair()
	h.mustAdd(p, a, evR)
	h.mustAdd(p, c, evR)
	fired := make([]event.Fired, 8)
	const calls = 100
	took := make([]time.Duration, calls)
	for i := range took {
		start := time.Now()
		got := h.wait(p, fired, 0)
		took[i] = time.Since(start)
		require.Empty(t, got, "Wait(0) on idle fds reported %s", formatEntries(got))
	}
	med, p99, worst := percentiles(took)
	t.Logf("Wait(0) with nothing ready: median %v, p99 %v, max %v", med, p99, worst)
	assert.False(t, med > 10*time.Millisecond || worst > 500*time.Millisecond, "Wait(0) blocks: median %v, max %v", med, worst)
	h.write(b, "x")
	if !sendSeenAtOnce {
		// The report is on its way (Wine): Waits that do not wait see it
		// within soon.
		for end := time.Now().Add(soon); time.Now().Before(end) && pollOne(a, evR, 0); {
			if got := h.wait(p, fired, 0); len(got) > 0 {
				assert.Equal(t, formatEntries([]event.Fired{entry(a, evR)}), formatEntries(got), "Wait(0) with a ready fd")
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	start := time.Now()
	h.expect(p, 0, "Wait(0) with a ready fd", entry(a, evR))
	el := time.Since(start)
	assert.LessOrEqual(t, el, 500*time.Millisecond, "Wait(0) with a ready fd took %v", el)
}

// A timed Wait never returns early, and it is not later than the machine
// makes a bare sleep of the same length (notLater, overshootSlack: 20 ms of
// slack on unix).
func pollerTimedWaitNeverEarly(t *testing.T, h *harness) {
	p := h.p
	a, _ := h.socketpair()
	h.mustAdd(p, a, evR)
	fired := make([]event.Fired, 8)
	for _, c := range []struct {
		d    time.Duration
		runs int
	}{{100 * time.Microsecond, 50}, {3100 * time.Microsecond, 5}, {50 * time.Millisecond, 4}} {
		over := make([]time.Duration, c.runs)
		floor := make([]time.Duration, c.runs)
		early := 0
		for i := range over {
			floor[i] = kernelSleep(c.d) - c.d
			start := time.Now()
			got := h.wait(p, fired, c.d)
			el := time.Since(start)
			require.Empty(t, got, "Wait(%v) with nothing ready reported %s", c.d, formatEntries(got))
			if el < c.d {
				if early++; early <= 3 { // the first few in detail
					assert.GreaterOrEqual(t, el, c.d, "Wait(%v) returned early", c.d)
				}
			}
			over[i] = el - c.d
		}
		assert.LessOrEqual(t, early, 3, "Wait(%v) returned early %d times of %d", c.d, early, c.runs)
		med, p99, worst := percentiles(over)
		floorMed, _, floorWorst := percentiles(floor)
		t.Logf("%s Wait(%v) x%d: overshoot median %v, p99 %v, max %v (resolution %v); bare sleep's median %v, max %v",
			p.Name(), c.d, c.runs, med, p99, worst, p.Caps().Resolution, floorMed, floorWorst)
		notLater(t, fmt.Sprintf("Wait(%v)", c.d), over, floor, overshootSlack)
	}
}

// A Wake before Wait: the next Wait returns at once with no fd
// entries; many Wakes before one Wait collapse into one return.
func pollerWakeBeforeWait(t *testing.T, h *harness) {
	p := h.p
	a, _ := h.socketpair()
	h.mustAdd(p, a, evR)
	fired := make([]event.Fired, 8)
	woken := func(why string) {
		t.Helper()
		start := time.Now()
		got := h.wait(p, fired, soon)
		el := time.Since(start)
		assert.Empty(t, got, "%s: Wait reported %s; want no entry", why, formatEntries(got))
		require.Less(t, el, time.Second, "%s: Wait(%v) took %v: the Wake was lost", why, soon, el)
	}
	require.NoError(t, p.Wake(), "Wake")
	woken("one Wake before Wait")
	h.waitIdle(p, "the Wake was consumed")
	for i := 0; i < 100; i++ {
		require.NoError(t, p.Wake(), "Wake %d", i)
	}
	woken("100 Wakes before Wait")
	h.waitIdle(p, "100 Wakes collapse into one return")
}

// Wake from 64 goroutines while Wait blocks, round after round: every
// round returns, no deadlock, clean under -race.
func pollerWakeStorm(t *testing.T, h *harness) {
	p := h.p
	a, _ := h.socketpair()
	h.mustAdd(p, a, evR)
	const (
		goroutines = 64
		rounds     = 100
	)
	fired := make([]event.Fired, 8)
	start := time.Now()
	done := 0
	for ; done < rounds && time.Since(start) < 4*time.Second; done++ {
		var wg sync.WaitGroup
		var failed atomic.Value
		release := make(chan struct{})
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-release
				if g%8 == 0 && done%2 == 1 {
					time.Sleep(100 * time.Microsecond) // some land while Wait blocks
				}
				if err := p.Wake(); err != nil {
					failed.Store(err)
				}
			}()
		}
		close(release)
		t0 := time.Now()
		n, err := p.Wait(fired, soon)
		el := time.Since(t0)
		wg.Wait()
		require.NoError(t, err, "round %d: Wait", done)
		h.check(p, fired, n)
		assert.Zero(t, n, "round %d: Wait reported %s; want no entry", done, formatEntries(fired[:n]))
		require.Less(t, el, soon, "round %d: Wait(%v) did not return although %d goroutines called Wake", done, soon, goroutines)
		werr, _ := failed.Load().(error)
		require.NoError(t, werr, "round %d: Wake", done)
	}
	t.Logf("%d rounds of %d concurrent Wakes in %v", done, goroutines, time.Since(start).Round(time.Millisecond))
}
