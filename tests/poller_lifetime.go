package tests

import (
	"errors"
	"fmt"
	"slices"
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

// Close from another goroutine unblocks Wait, which returns
// ErrClosed; double Close and use after Close return errors.
func pollerCloseUnblocksWait(t *testing.T, h *harness) {
	a, _ := h.socketpair()
	var q *mux.Poller
	for i := 0; i < 20; i++ {
		q = h.open(pollerSetSize)
		h.mustAdd(q, a, evR)
		res := make(chan error, 1)
		started := make(chan struct{})
		go func(q *mux.Poller) {
			close(started)
			_, err := q.Wait(make([]event.Fired, 4), -1)
			res <- err
		}(q)
		<-started
		time.Sleep(time.Duration(i%5) * 250 * time.Microsecond) // 0: Close races with Wait's start
		assert.NoError(t, q.Close(), "Close %d while Wait runs", i)
		select {
		case err := <-res:
			h.wantErr(err, mux.ErrClosed, fmt.Sprintf("Wait(-1) ended by Close %d", i))
		case <-time.After(soon):
			require.FailNow(t, fmt.Sprintf("Close %d did not unblock a Wait(-1) within %v", i, soon))
		}
	}

	fired := make([]event.Fired, 4)
	h.wantErr(q.Close(), mux.ErrClosed, "second Close")
	h.wantErr(q.Add(a, evW), mux.ErrClosed, "Add after Close")
	h.wantErr(q.Del(a, evR), mux.ErrClosed, "Del after Close")
	start := time.Now()
	_, err := q.Wait(fired, soon)
	h.wantErr(err, mux.ErrClosed, "Wait after Close")
	el := time.Since(start)
	assert.LessOrEqual(t, el, time.Second, "Wait(%v) after Close took %v", soon, el)
	h.wantErr(q.Wake(), mux.ErrClosed, "Wake after Close")
	h.wantErr(q.Resize(64), mux.ErrClosed, "Resize after Close")
	fd := q.Fd()
	assert.Equal(t, -1, fd, "Fd() after Close = %d; want -1", fd)
	_, _, _, _ = q.Mask(a), q.SetSize(), q.Name(), q.Caps()

	// Closes from many goroutines at once: exactly one succeeds.
	q = h.open(64)
	var wg sync.WaitGroup
	var ok, closed atomic.Int32
	var other atomic.Value
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := q.Close(); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, mux.ErrClosed):
				closed.Add(1)
			default:
				other.Store(err)
			}
		}()
	}
	wg.Wait()
	assert.False(t, ok.Load() != 1 || closed.Load() != 7, "8 concurrent Closes: %d succeeded, %d returned ErrClosed (other: %v); want 1 and 7", ok.Load(), closed.Load(), other.Load())
}

// The Poller's own fds are close-on-exec; after Close the process has
// the fds it had before.
func pollerCloexecNoLeak(t *testing.T, h *harness) {
	a, _ := h.socketpair()
	fdtest.OpenFds() // once first: the runtime may open its own poller for it
	before := fdtest.OpenFds()
	q := h.open(64)
	h.mustAdd(q, a, evW)
	h.wait(q, make([]event.Fired, 4), 0)
	require.NoError(t, q.Wake(), "Wake")
	h.wait(q, make([]event.Fired, 4), 0)
	h.mustDel(q, a, evW)
	during := fdtest.OpenFds()
	added := minus(during, before)
	t.Logf("a %s Poller holds %d fds: %v", q.Name(), len(added), added)
	gone := minus(before, during)
	assert.Empty(t, gone, "opening a Poller closed fds %v", gone)
	assert.False(t, q.Caps().Pollable && !slices.Contains(added, q.Fd()), "Fd() = %d is not among the fds the Poller opened (%v)", q.Fd(), added)
	for _, fd := range added {
		cloexec, err := isCloexec(fd)
		assert.False(t, err != nil || !cloexec, "fd %d of the Poller is not close-on-exec (%v)", fd, err)
	}
	require.NoError(t, q.Close(), "Close")
	after := fdtest.OpenFds()
	assert.True(t, slices.Equal(after, before), "after Close: fds %v are still open, %v are gone", minus(after, before), minus(before, after))

	// Closed while a Wait runs: the last one out releases the fds.
	for i := 0; i < 3; i++ {
		q = h.open(64)
		res := make(chan error, 1)
		go func(q *mux.Poller) {
			_, err := q.Wait(make([]event.Fired, 4), -1)
			res <- err
		}(q)
		time.Sleep(2 * time.Millisecond)
		assert.NoError(t, q.Close(), "Close while Wait runs")
		select {
		case <-res:
		case <-time.After(soon):
			require.FailNow(t, fmt.Sprintf("Close did not unblock Wait within %v", soon))
		}
		after := fdtest.OpenFds()
		assert.True(t, slices.Equal(after, before), "Close during Wait, then Wait returned: fds %v are still open, %v are gone", minus(after, before), minus(before, after))
	}
}

// Wait allocates nothing.
func pollerWaitAllocs(t *testing.T, h *harness) {
	p := h.p
	a, b := h.socketpair()
	h.write(b, "x")
	h.mustAdd(p, a, evR)
	fired := make([]event.Fired, 8)
	bad, badN := false, 0
	var badErr error
	allocs := testing.AllocsPerRun(200, func() {
		if n, err := p.Wait(fired, time.Second); n != 1 || err != nil {
			bad, badN, badErr = true, n, err
		}
	})
	require.False(t, bad, "Wait with one ready fd gave %d, %v; want 1, nil", badN, badErr)
	assert.Zero(t, allocs, "Wait with a ready fd: %v allocations per call; want 0", allocs)
	h.mustDel(p, a, evR)
	allocs = testing.AllocsPerRun(50, func() {
		if err := p.Wake(); err != nil {
			badErr = err
		}
		if _, err := p.Wait(fired, 0); err != nil {
			badErr = err
		}
		if _, err := p.Wait(fired, 10*time.Microsecond); err != nil {
			badErr = err
		}
	})
	require.NoError(t, badErr, "Wake and Wait")
	assert.Zero(t, allocs, "Wake, Wait(0) and a timed Wait: %v allocations per round; want 0", allocs)
}

// A Poller's own fd, watched by another Poller, is Readable when the
// inner one has an event.
func pollerFdWatchable(t *testing.T, h *harness) {
	inner := h.p
	ifd := inner.Fd()
	if !inner.Caps().Pollable {
		assert.Equal(t, -1, ifd, "Caps().Pollable is false but Fd() = %d; want -1", ifd)
		t.Logf("%s has no pollable fd (Fd() = -1), and says so", inner.Name())
		return
	}
	require.GreaterOrEqual(t, ifd, 0, "Caps().Pollable is true but Fd() = %d", ifd)
	assert.Equal(t, ifd, inner.Fd(), "Fd() changed between calls: %d, then %d", ifd, inner.Fd())
	outer := h.open(pollerSetSize)
	h.mustAdd(outer, ifd, evR)
	h.waitIdle(outer, "the inner Poller has nothing to report")
	a, b := h.socketpair()
	h.mustAdd(inner, a, evR)
	h.waitIdle(outer, "the inner Poller has an idle fd")
	h.write(b, "x")
	h.expect(outer, soon, "the inner Poller has an event", entry(ifd, evR))
	h.expect(inner, 0, "the inner Poller's own Wait", entry(a, evR))
	n, err := drain(a)
	require.Equal(t, 1, n, "drain: %d, %v", n, err)
	require.ErrorIs(t, err, errAgain, "drain: %d, %v", n, err)
	h.waitIdle(outer, "the inner Poller's event was consumed")
}
