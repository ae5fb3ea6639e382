package tests

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
)

func loopTimerIds(t *testing.T, h *harness, l *aeloop.Loop) {
	for want := int64(0); want < 3; want++ {
		id, err := l.AddTimer(time.Hour, nopTimer, nil, nil)
		require.NoError(t, err)
		assert.Equal(t, want, id, "ids count up from 0")
	}
	require.NoError(t, l.DelTimer(1))
	assert.ErrorIs(t, l.DelTimer(1), aeloop.ErrNoTimer, "second DelTimer")
	assert.ErrorIs(t, l.DelTimer(99), aeloop.ErrNoTimer, "unknown id")
	assert.ErrorIs(t, l.DelTimer(-1), aeloop.ErrNoTimer, "negative id")
	id, err := l.AddTimer(0, nopTimer, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(3), id, "a deleted id is not reused")
	assert.Equal(t, 1, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.ErrorIs(t, l.DelTimer(3), aeloop.ErrNoTimer, "a timer that returned NoMore is gone")

	id, err = l.AddTimer(0, nil, nil, nil)
	assert.ErrorIs(t, err, aeloop.ErrNilFunc)
	assert.Equal(t, int64(-1), id)
	id, err = l.AddTimer(0, nopTimer, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(4), id, "a failed AddTimer uses no id")
}

func loopDueOrder(t *testing.T, h *harness, l *aeloop.Loop) {
	var order []int
	mk := func(tag int) aeloop.TimeProc {
		return func(*aeloop.Loop, int64, any) time.Duration { order = append(order, tag); return aeloop.NoMore }
	}
	for _, ms := range []int{30, 10, 20, 0} {
		_, err := l.AddTimer(time.Duration(ms)*time.Millisecond, mk(ms), nil, nil)
		require.NoError(t, err)
	}
	for i := 0; len(order) < 4 && i < 100; i++ {
		process(t, l, aeloop.TimeEvents)
	}
	assert.Equal(t, []int{0, 10, 20, 30}, order, "due order")

	// Due at once (zero or negative delay): creation order.
	order = nil
	var want []int
	for i := range 50 {
		after := time.Duration(0)
		if i%2 == 1 {
			after = -time.Duration(i) * time.Hour
		}
		_, err := l.AddTimer(after, mk(i), nil, nil)
		require.NoError(t, err)
		want = append(want, i)
	}
	assert.Equal(t, 50, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, want, order, "timers due at once run in creation order")
}

func loopPassRule(t *testing.T, h *harness, l *aeloop.Loop) {
	var log []string
	logger := func(s string) aeloop.TimeProc {
		return func(*aeloop.Loop, int64, any) time.Duration { log = append(log, s); return aeloop.NoMore }
	}
	_, err := l.AddTimer(0, func(l *aeloop.Loop, _ int64, _ any) time.Duration {
		log = append(log, "outer")
		_, err := l.AddTimer(0, logger("inner"), nil, nil)
		assert.NoError(t, err)
		return aeloop.NoMore
	}, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, []string{"outer"}, log, "a timer made by a timer ran in the same pass")
	assert.Equal(t, 1, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, []string{"outer", "inner"}, log)

	a, b := h.socketpair()
	h.write(b, "x")
	require.NoError(t, l.AddEvent(a, event.Readable, func(l *aeloop.Loop, fd int, _ any, _ event.Mask) {
		drain(fd)
		_, err := l.AddTimer(0, logger("from file"), nil, nil)
		assert.NoError(t, err)
	}, nil))
	log = nil
	assert.Equal(t, 2, process(t, l, aeloop.AllEvents|aeloop.DontWait))
	assert.Equal(t, []string{"from file"}, log, "a timer made by a file handler runs in the same call")

	l.SetBeforeSleep(func(l *aeloop.Loop) {
		l.SetBeforeSleep(nil)
		_, err := l.AddTimer(0, logger("from before-sleep"), nil, nil)
		assert.NoError(t, err)
	})
	log = nil
	assert.Equal(t, 1, process(t, l, aeloop.AllEvents|aeloop.DontWait|aeloop.CallBeforeSleep))
	assert.Equal(t, []string{"from before-sleep"}, log)

	require.NoError(t, l.Post(func(l *aeloop.Loop) {
		_, err := l.AddTimer(0, logger("from post"), nil, nil)
		assert.NoError(t, err)
	}))
	log = nil
	assert.Equal(t, 1, process(t, l, aeloop.AllEvents|aeloop.DontWait))
	assert.Equal(t, []string{"from post"}, log, "posted functions run before the timers")
}

func loopReschedule(t *testing.T, h *harness, l *aeloop.Loop) {
	const d = 20 * time.Millisecond
	var starts, ends []time.Time
	finals := 0
	id, err := l.AddTimer(0, func(*aeloop.Loop, int64, any) time.Duration {
		starts = append(starts, time.Now())
		if len(starts) == 4 {
			return aeloop.NoMore
		}
		time.Sleep(d / 2) // the delay counts from the return, not the start
		ends = append(ends, time.Now())
		return d
	}, nil, func(*aeloop.Loop, any) { finals++ })
	require.NoError(t, err)
	for i := 0; len(starts) < 4 && i < 200; i++ {
		process(t, l, aeloop.TimeEvents)
	}
	require.Len(t, starts, 4)
	for i := 1; i < 4; i++ {
		gap := starts[i].Sub(ends[i-1])
		assert.GreaterOrEqual(t, gap, d, "run %d came %v after the previous one returned", i, gap)
	}
	assert.Equal(t, 1, finals, "finalizer after NoMore")
	time.Sleep(2 * d)
	assert.Equal(t, 0, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Len(t, starts, 4, "NoMore did not stop the timer")
	assert.ErrorIs(t, l.DelTimer(id), aeloop.ErrNoTimer)

	// A zero delay runs again in the next call, not in the same pass.
	runs := 0
	_, err = l.AddTimer(0, func(*aeloop.Loop, int64, any) time.Duration { runs++; return 0 }, nil, nil)
	require.NoError(t, err)
	for i := 1; i <= 3; i++ {
		assert.Equal(t, 1, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
		assert.Equal(t, i, runs)
	}
}

func loopHugeDelays(t *testing.T, h *harness, l *aeloop.Loop) {
	ran := map[string]int{}
	mk := func(name string, ret time.Duration) aeloop.TimeProc {
		return func(*aeloop.Loop, int64, any) time.Duration { ran[name]++; return ret }
	}
	for _, tc := range []struct {
		name  string
		after time.Duration
		ret   time.Duration
	}{
		{"negative", -time.Hour, aeloop.NoMore},
		{"40 minutes", 40 * time.Minute, aeloop.NoMore},
		{"max", time.Duration(math.MaxInt64), aeloop.NoMore},
		{"returns max", 0, time.Duration(math.MaxInt64)},
		{"returns 40 minutes", 0, 40 * time.Minute},
	} {
		_, err := l.AddTimer(tc.after, mk(tc.name, tc.ret), nil, nil)
		require.NoError(t, err)
	}
	assert.Equal(t, 3, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, map[string]int{"negative": 1, "returns max": 1, "returns 40 minutes": 1}, ran)
	// The loop now waits (no busy loop, no overflow) until the Post.
	h.afterFunc(60*time.Millisecond, func() { _ = l.Post(func(*aeloop.Loop) {}) })
	start := time.Now()
	assert.Equal(t, 0, process(t, l, aeloop.TimeEvents))
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond, "a far-future timer made the poll return early")
	assert.Equal(t, 3, len(ran))
}

func loopNeverEarly(t *testing.T, h *harness, l *aeloop.Loop) {
	check := func(flags int) {
		for _, d := range []time.Duration{100 * time.Microsecond, 1500 * time.Microsecond,
			3100 * time.Microsecond, 20 * time.Millisecond} {
			var at time.Duration
			added := time.Now()
			_, err := l.AddTimer(d, func(*aeloop.Loop, int64, any) time.Duration {
				at = time.Since(added)
				return aeloop.NoMore
			}, nil, nil)
			require.NoError(t, err)
			// One blocking call must run it: a poll that ended before the
			// timer was due would return 0 (ae's busy loop, redis#8764).
			assert.Equal(t, 1, process(t, l, flags), "delay %v", d)
			assert.GreaterOrEqual(t, at, d, "the timer ran early")
			t.Logf("flags %d, delay %v: ran after %v (late by %v)", flags, d, at, at-d)
		}
	}
	check(aeloop.TimeEvents)
	a, _ := h.socketpair()
	require.NoError(t, l.AddEvent(a, event.Readable, nopHandler, nil))
	check(aeloop.AllEvents)
}

func loopSelfDelete(t *testing.T, h *harness, l *aeloop.Loop) {
	var id int64
	runs, finals := 0, 0
	inCallback, finInCallback := false, false
	id, err := l.AddTimer(0, func(l *aeloop.Loop, self int64, _ any) time.Duration {
		inCallback = true
		defer func() { inCallback = false }()
		runs++
		assert.Equal(t, id, self)
		assert.NoError(t, l.DelTimer(self))
		assert.ErrorIs(t, l.DelTimer(self), aeloop.ErrNoTimer)
		return 10 * time.Millisecond // cannot revive it
	}, nil, func(*aeloop.Loop, any) { finals++; finInCallback = inCallback })
	require.NoError(t, err)
	assert.Equal(t, 1, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, 1, finals)
	assert.False(t, finInCallback, "finalizer ran while the callback was running")
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, 0, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, 1, runs, "a self-deleted timer ran again")
	assert.Equal(t, 1, finals)
}

func loopDeleteNested(t *testing.T, h *harness, l *aeloop.Loop) {
	var idA int64
	aRuns, finA := 0, 0
	aRunning, finWhileRunning := false, false
	idA, err := l.AddTimer(0, func(l *aeloop.Loop, _ int64, _ any) time.Duration {
		aRunning = true
		aRuns++
		_, err := l.AddTimer(0, func(l *aeloop.Loop, _ int64, _ any) time.Duration {
			assert.NoError(t, l.DelTimer(idA), "deleting a timer whose callback is running")
			return aeloop.NoMore
		}, nil, nil)
		assert.NoError(t, err)
		n, err := l.ProcessEvents(aeloop.TimeEvents | aeloop.DontWait)
		assert.NoError(t, err)
		assert.Equal(t, 1, n, "the nested pass runs the new timer and does not re-enter this one")
		assert.Equal(t, 0, finA, "finalizer ran while the callback was running")
		aRunning = false
		return 5 * time.Millisecond
	}, nil, func(*aeloop.Loop, any) { finA++; finWhileRunning = aRunning })
	require.NoError(t, err)
	assert.Equal(t, 1, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, 1, aRuns)
	assert.Equal(t, 1, finA, "finalizer once the callback returned")
	assert.False(t, finWhileRunning)
	time.Sleep(10 * time.Millisecond)
	assert.Equal(t, 0, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, 1, aRuns, "the returned delay revived a deleted timer")
	assert.Equal(t, 1, finA)
	assert.ErrorIs(t, l.DelTimer(idA), aeloop.ErrNoTimer)
}

func loopFinalizerOnce(t *testing.T, h *harness, l *aeloop.Loop) {
	fins := map[string]int{}
	fin := func(_ *aeloop.Loop, data any) { fins[data.(string)]++ }
	add := func(after time.Duration, proc aeloop.TimeProc, name string, f aeloop.Finalizer) int64 {
		id, err := l.AddTimer(after, proc, name, f)
		require.NoError(t, err)
		return id
	}
	add(0, nopTimer, "nomore", fin)
	idle := add(time.Hour, nopTimer, "deleted", fin)
	add(time.Hour, nopTimer, "live at close", fin)
	delAtClose := add(time.Hour, nopTimer, "deleted before close", fin)
	add(time.Hour, nopTimer, "no finalizer", nil)
	require.NoError(t, l.DelTimer(idle))
	assert.Zero(t, fins["deleted"], "the finalizer waits for the next timer pass, as in ae")
	assert.Equal(t, 1, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, map[string]int{"nomore": 1, "deleted": 1}, fins)
	require.NoError(t, l.DelTimer(delAtClose))
	require.NoError(t, l.Close())
	assert.Equal(t, map[string]int{"nomore": 1, "deleted": 1, "live at close": 1, "deleted before close": 1}, fins)
	_, err := l.ProcessEvents(aeloop.AllEvents | aeloop.DontWait)
	assert.ErrorIs(t, err, mux.ErrClosed)
	assert.ErrorIs(t, l.Close(), mux.ErrClosed)
	assert.Len(t, fins, 4)
	for name, n := range fins {
		assert.Equal(t, 1, n, name)
	}
}

func loopFinalizerAddsTimer(t *testing.T, h *harness, l *aeloop.Loop) {
	var log []string
	// The finalizer logs, then adds a 0-delay timer that logs.
	finAddsChild := func(l *aeloop.Loop, _ any) {
		log = append(log, "fin")
		_, err := l.AddTimer(0, func(*aeloop.Loop, int64, any) time.Duration {
			log = append(log, "child")
			return aeloop.NoMore
		}, nil, nil)
		assert.NoError(t, err)
	}
	id, err := l.AddTimer(time.Hour, nopTimer, nil, finAddsChild)
	require.NoError(t, err)
	require.NoError(t, l.DelTimer(id))
	assert.Equal(t, 0, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, []string{"fin"}, log)
	assert.Equal(t, 1, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, []string{"fin", "child"}, log, "the timer made by a finalizer survived")

	// A NoMore finalizer that adds a timer, too.
	log = nil
	_, err = l.AddTimer(0, nopTimer, nil, finAddsChild)
	require.NoError(t, err)
	assert.Equal(t, 1, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, 1, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, []string{"fin", "child"}, log)

	// During Close the loop is closed: AddTimer fails, Close terminates.
	var closeErr error
	_, err = l.AddTimer(time.Hour, nopTimer, nil, func(l *aeloop.Loop, _ any) {
		_, closeErr = l.AddTimer(0, nopTimer, nil, nil)
	})
	require.NoError(t, err)
	require.NoError(t, l.Close())
	assert.ErrorIs(t, closeErr, mux.ErrClosed)
}

func loopOnlyDeleted(t *testing.T, h *harness, l *aeloop.Loop) {
	fins := 0
	for range 3 {
		id, err := l.AddTimer(time.Hour, nopTimer, nil, func(*aeloop.Loop, any) { fins++ })
		require.NoError(t, err)
		require.NoError(t, l.DelTimer(id))
	}
	// A blocking call with only deleted timers blocks (neither spins nor
	// crashes) until the Post 100 ms later.
	h.afterFunc(100*time.Millisecond, func() { _ = l.Post(func(*aeloop.Loop) {}) })
	start := time.Now()
	assert.Equal(t, 0, process(t, l, aeloop.AllEvents))
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "a deleted timer shortened the poll")
	assert.Equal(t, 3, fins)

	// Main too: a few iterations, not a spin.
	for range 3 {
		id, err := l.AddTimer(time.Hour, nopTimer, nil, func(*aeloop.Loop, any) { fins++ })
		require.NoError(t, err)
		require.NoError(t, l.DelTimer(id))
	}
	it0 := l.Stats().Iterations
	started := make(chan struct{})
	require.NoError(t, l.Post(func(*aeloop.Loop) { close(started) }))
	go func() {
		<-started
		time.Sleep(100 * time.Millisecond)
		l.Stop()
	}()
	require.NoError(t, l.Main())
	assert.LessOrEqual(t, l.Stats().Iterations-it0, uint64(10), "Main spun with only deleted timers")
	assert.Equal(t, 6, fins)
}
