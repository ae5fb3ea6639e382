package aeloop

import (
	"errors"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

// checkHeap verifies the heap order and that every timer knows its index.
func checkHeap(t *testing.T, ts *timerState) {
	t.Helper()
	for i, e := range ts.heap {
		tm := e.t
		if e.due != tm.due || e.id != tm.id {
			t.Fatalf("heap entry %d has a stale key", i)
		}
		if tm.index != i {
			t.Fatalf("timer %d at %d thinks it is at %d", tm.id, i, tm.index)
		}
		if i > 0 && entryLess(&ts.heap[i], &ts.heap[(i-1)/4]) {
			t.Fatalf("timer %d at %d sorts before its parent", tm.id, i)
		}
		if ts.byID[tm.id] != tm {
			t.Fatalf("timer %d is in the heap but not in byID", tm.id)
		}
	}
	if len(ts.byID) != len(ts.heap) {
		t.Fatalf("%d timers by id, %d in the heap (none is running)", len(ts.byID), len(ts.heap))
	}
}

// TestTimerHeapRandom adds and deletes timers at random, checking the heap
// after every step, then fires the rest: they must run in (due, id) order,
// each once, and every finalizer must run once.
func TestTimerHeapRandom(t *testing.T) {
	l, err := CreateLoop(16)
	require.NoError(t, err)
	defer l.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	type key struct{ due, id int64 }
	var fired []key
	fins := map[int64]int{}
	proc := func(l *Loop, id int64, _ any) time.Duration {
		fired = append(fired, key{l.timers.byID[id].due, id})
		return NoMore
	}
	fin := func(_ *Loop, data any) { fins[data.(int64)]++ }
	var live []int64
	deleted := map[int64]bool{}
	for i := range 5000 {
		if len(live) > 0 && rng.IntN(3) == 0 {
			k := rng.IntN(len(live))
			id := live[k]
			live = slices.Delete(live, k, k+1)
			require.NoError(t, l.DelTimer(id))
			deleted[id] = true
		} else {
			// Delays in a narrow range, so that equal due times happen
			// (the clock is read once per AddTimer, at ns resolution).
			after := time.Duration(rng.IntN(2000)-200) * time.Microsecond
			id, err := l.AddTimer(after, proc, int64(i), fin)
			require.NoError(t, err)
			fins[int64(i)] = 0
			live = append(live, id)
		}
		if i%97 == 0 {
			checkHeap(t, &l.timers)
		}
	}
	checkHeap(t, &l.timers)
	deadline := time.Now().Add(5 * time.Second)
	for len(l.timers.heap) > 0 && time.Now().Before(deadline) {
		_, err := l.ProcessEvents(TimeEvents)
		require.NoError(t, err)
	}
	require.Len(t, fired, len(live))
	assert.True(t, slices.IsSortedFunc(fired, func(a, b key) int {
		if a.due != b.due {
			return int(min(max(a.due-b.due, -1), 1))
		}
		return int(a.id - b.id)
	}), "timers fired out of (due, id) order")
	_, err = l.ProcessEvents(TimeEvents | DontWait) // finalizers of the last deletions
	require.NoError(t, err)
	for data, n := range fins {
		assert.Equal(t, 1, n, "finalizer of timer with data %d", data)
	}
	assert.Empty(t, l.timers.byID)
}

// TestMillionTimers keeps 1,000,000 timers pending, deletes a third of them
// and fires the rest: with a heap every step is O(log n), so this takes
// about a second (a list, as in ae, would take hours).
func TestMillionTimers(t *testing.T) {
	n := 1_000_000
	if raceEnabled || testing.Short() {
		n = 200_000 // the race detector makes map and heap work ~10x slower
	}
	l, err := CreateLoop(16)
	require.NoError(t, err)
	defer l.Close()
	ran, fins := 0, 0
	proc := func(*Loop, int64, any) time.Duration { ran++; return NoMore }
	fin := func(*Loop, any) { fins++ }
	start := time.Now()
	for i := range n {
		// Spread over 50 ms, added in an order unrelated to due order.
		after := time.Duration((i*7919)%50_000) * time.Microsecond
		_, err := l.AddTimer(after, proc, nil, fin)
		require.NoError(t, err)
	}
	added := time.Since(start)
	for id := int64(0); id < int64(n); id += 3 {
		require.NoError(t, l.DelTimer(id))
	}
	deleted := (n + 2) / 3
	assert.Equal(t, n-deleted, len(l.timers.heap), "deleted timers leave the heap at once")
	checkHeap(t, &l.timers)
	fire := time.Now()
	for i := 0; ran < n-deleted && i < 100_000; i++ {
		_, err := l.ProcessEvents(TimeEvents)
		require.NoError(t, err)
	}
	assert.Equal(t, n-deleted, ran)
	assert.Equal(t, n, fins)
	t.Logf("%d timers: added in %v, %d deleted, the rest fired in %v (their due times span 50 ms)",
		n, added, deleted, time.Since(fire))
}

// TestPollErrorReturned: an epoll instance closed behind the loop's back
// makes the poll fail; ProcessEvents and Main return the error (ae aborts).
func TestPollErrorReturned(t *testing.T) {
	l, err := CreateLoop(64, mux.WithBackend(mux.Backends()[0]))
	require.NoError(t, err)
	fd := l.p.Fd()
	if fd < 0 {
		l.Close()
		t.Skipf("the %s backend has no kernel fd to break", l.ApiName())
	}
	_, err = l.AddTimer(time.Hour, func(*Loop, int64, any) time.Duration { return NoMore }, nil, nil)
	require.NoError(t, err)
	require.NoError(t, fdtest.Close(fd))
	_, err = l.ProcessEvents(AllEvents) // polls: a timer is pending
	assert.ErrorIs(t, err, syscall.EBADF)
	err = l.Main()
	assert.ErrorIs(t, err, syscall.EBADF)
	err = l.Close()
	assert.ErrorIs(t, err, syscall.EBADF, "closing the already closed fd fails too")
	var me interface{ WrappedErrors() []error }
	if assert.True(t, errors.As(err, &me)) {
		assert.Len(t, me.WrappedErrors(), 1)
	}
}

// TestGenerations: the registration generation changes only when an fd goes
// from unregistered to registered.
func TestGenerations(t *testing.T) {
	l, err := CreateLoop(1024)
	require.NoError(t, err)
	defer l.Close()
	a, b, err := fdtest.Socketpair()
	require.NoError(t, err)
	defer fdtest.Close(a)
	defer fdtest.Close(b)
	nop := func(*Loop, int, any, event.Mask) {}
	require.NoError(t, l.AddEvent(a, event.Readable, nop, nil))
	gen := func(fd int) uint64 { _, g := l.p.Registration(fd); return g }
	g := gen(a)
	assert.NotZero(t, g)
	require.NoError(t, l.AddEvent(a, event.Writable|event.Barrier, nop, nil))
	l.DelEvent(a, event.Writable)
	assert.Equal(t, g, gen(a), "a partial change keeps the generation")
	l.DelEvent(a, event.Readable)
	assert.Zero(t, gen(a))
	require.NoError(t, l.AddEvent(a, event.Readable, nop, nil))
	assert.Greater(t, gen(a), g, "a new registration gets a new generation")
}
