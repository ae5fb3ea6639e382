package tests

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
)

func loopNoFileNoTime(t *testing.T, h *harness, l *aeloop.Loop) {
	a := h.readyBoth()
	files, timers, hooks := 0, 0, 0
	require.NoError(t, l.AddEvent(a, event.Readable, func(*aeloop.Loop, int, any, event.Mask) { files++ }, nil))
	_, err := l.AddTimer(0, func(*aeloop.Loop, int64, any) time.Duration { timers++; return aeloop.NoMore }, nil, nil)
	require.NoError(t, err)
	l.SetBeforeSleep(func(*aeloop.Loop) { hooks++ })
	l.SetAfterSleep(func(*aeloop.Loop) { hooks++ })
	s0 := l.Stats()
	for _, f := range []int{0, aeloop.DontWait, aeloop.CallBeforeSleep | aeloop.CallAfterSleep,
		aeloop.DontWait | aeloop.CallBeforeSleep | aeloop.CallAfterSleep, 32} {
		assert.Equal(t, 0, process(t, l, f), "flags %d", f)
	}
	assert.Equal(t, 0, files+timers+hooks, "something ran without FileEvents or TimeEvents")
	s1 := l.Stats()
	assert.Equal(t, s0.Iterations, s1.Iterations)
	assert.Equal(t, s0.Polls, s1.Polls)
}

func loopDontWait(t *testing.T, h *harness, l *aeloop.Loop) {
	a, _ := h.socketpair()
	require.NoError(t, l.AddEvent(a, event.Readable, nopHandler, nil))
	_, err := l.AddTimer(time.Hour, nopTimer, nil, nil)
	require.NoError(t, err)
	start := time.Now()
	assert.Equal(t, 0, process(t, l, aeloop.AllEvents|aeloop.DontWait))
	assert.Equal(t, 0, process(t, l, aeloop.FileEvents|aeloop.DontWait))
	l.SetDontWait(true)
	assert.Equal(t, 0, process(t, l, aeloop.AllEvents))
	assert.Equal(t, 0, process(t, l, aeloop.FileEvents))
	assert.Less(t, time.Since(start), 2*time.Second, "a DontWait call blocked")

	l.SetDontWait(false)
	start = time.Now() // before AddTimer: the timer is due 20 ms after it
	_, err = l.AddTimer(20*time.Millisecond, nopTimer, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, process(t, l, aeloop.AllEvents), "SetDontWait(false) waits for the timer again")
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
}

func loopFileOnly(t *testing.T, h *harness, l *aeloop.Loop) {
	a, b := h.socketpair()
	h.write(b, "x")
	files, timers := 0, 0
	require.NoError(t, l.AddEvent(a, event.Readable, func(*aeloop.Loop, int, any, event.Mask) { files++ }, nil))
	_, err := l.AddTimer(0, func(*aeloop.Loop, int64, any) time.Duration { timers++; return aeloop.NoMore }, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, process(t, l, aeloop.FileEvents|aeloop.DontWait))
	assert.Equal(t, 1, files)
	assert.Equal(t, 0, timers, "FileEvents alone ran a timer")

	// FileEvents alone blocks even though a timer is overdue: only the
	// Post 100 ms later ends the call.
	drain(a)
	posted := false
	h.afterFunc(100*time.Millisecond, func() { _ = l.Post(func(*aeloop.Loop) { posted = true }) })
	start := time.Now()
	assert.Equal(t, 0, process(t, l, aeloop.FileEvents))
	el := time.Since(start)
	assert.True(t, posted)
	assert.GreaterOrEqual(t, el, 50*time.Millisecond, "FileEvents alone used the timer's timeout")
	assert.Equal(t, 0, timers)
}

func loopTimeOnly(t *testing.T, h *harness, l *aeloop.Loop) {
	a := h.readyBoth()
	files, timers := 0, 0
	require.NoError(t, l.AddEvent(a, event.Readable, func(*aeloop.Loop, int, any, event.Mask) { files++ }, nil))
	tp := func(*aeloop.Loop, int64, any) time.Duration { timers++; return aeloop.NoMore }
	_, err := l.AddTimer(0, tp, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, 1, timers)
	assert.Equal(t, 0, files, "TimeEvents alone ran a file handler")
	_, err = l.AddTimer(0, tp, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, process(t, l, aeloop.TimeEvents), "polls, drops the fired fd, runs the timer")
	assert.Equal(t, 0, files)
	assert.Equal(t, 1, process(t, l, aeloop.FileEvents|aeloop.DontWait),
		"the dropped event comes back (level-triggered)")
	assert.Equal(t, 1, files)
}

func loopPollOnlyWhenNeeded(t *testing.T, h *harness, l *aeloop.Loop) {
	before := 0
	l.SetBeforeSleep(func(*aeloop.Loop) { before++ })
	tp := func(*aeloop.Loop, int64, any) time.Duration { return aeloop.NoMore }
	polls := func() uint64 { return l.Stats().Polls }

	// No fd and DontWait: no poll, so no before-sleep hook either.
	_, err := l.AddTimer(0, tp, nil, nil)
	require.NoError(t, err)
	p0 := polls()
	assert.Equal(t, 1, process(t, l, aeloop.TimeEvents|aeloop.DontWait|aeloop.CallBeforeSleep))
	assert.Equal(t, 0, before)
	assert.Equal(t, p0, polls())

	// FileEvents with no fd registered returns at once.
	start := time.Now()
	assert.Equal(t, 0, process(t, l, aeloop.FileEvents|aeloop.CallBeforeSleep))
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, 0, before)
	assert.Equal(t, p0, polls())

	// TimeEvents without DontWait polls (the timer is overdue: timeout 0).
	_, err = l.AddTimer(0, tp, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, process(t, l, aeloop.TimeEvents|aeloop.CallBeforeSleep))
	assert.Equal(t, 1, before)
	assert.Equal(t, p0+1, polls())

	// A registered fd makes even a DontWait call poll.
	a, _ := h.socketpair()
	require.NoError(t, l.AddEvent(a, event.Readable, nopHandler, nil))
	assert.Equal(t, 0, process(t, l, aeloop.FileEvents|aeloop.DontWait|aeloop.CallBeforeSleep))
	assert.Equal(t, 2, before)
	assert.Equal(t, p0+2, polls())

	// Once it is deleted, FileEvents returns at once again.
	l.DelEvent(a, event.Readable)
	start = time.Now()
	assert.Equal(t, 0, process(t, l, aeloop.FileEvents))
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, p0+2, polls())
}

func loopOrder(t *testing.T, h *harness, l *aeloop.Loop) {
	a, b := h.socketpair()
	var log []string
	l.SetBeforeSleep(func(*aeloop.Loop) {
		log = append(log, "before")
		h.write(b, "x") // the poll, which comes next, must see it
	})
	l.SetAfterSleep(func(*aeloop.Loop) { log = append(log, "after") })
	require.NoError(t, l.AddEvent(a, event.Readable, func(_ *aeloop.Loop, fd int, _ any, _ event.Mask) {
		log = append(log, "file")
		drain(fd)
	}, nil))
	_, err := l.AddTimer(0, func(*aeloop.Loop, int64, any) time.Duration {
		log = append(log, "timer")
		return aeloop.NoMore
	}, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, process(t, l, aeloop.AllEvents|aeloop.CallBeforeSleep|aeloop.CallAfterSleep))
	assert.Equal(t, []string{"before", "after", "file", "timer"}, log)

	log = nil
	assert.Equal(t, 0, process(t, l, aeloop.AllEvents|aeloop.DontWait))
	assert.Empty(t, log, "hooks ran without their CALL flags")
	assert.Equal(t, 0, process(t, l, aeloop.AllEvents|aeloop.DontWait|aeloop.CallAfterSleep))
	assert.Equal(t, []string{"after"}, log, "after-sleep runs even with no event")
	log = nil
	flags := aeloop.AllEvents | aeloop.DontWait | aeloop.CallBeforeSleep
	if !sendSeenAtOnce {
		flags &^= aeloop.DontWait // the poll waits for the report on its way
	}
	assert.Equal(t, 1, process(t, l, flags))
	assert.Equal(t, []string{"before", "file"}, log)
}

func loopTimeoutAfterBeforeSleep(t *testing.T, h *harness, l *aeloop.Loop) {
	a, _ := h.socketpair()
	require.NoError(t, l.AddEvent(a, event.Readable, nopHandler, nil)) // idle
	ran := 0
	l.SetBeforeSleep(func(l *aeloop.Loop) {
		l.SetBeforeSleep(nil)
		_, err := l.AddTimer(0, func(*aeloop.Loop, int64, any) time.Duration { ran++; return aeloop.NoMore }, nil, nil)
		assert.NoError(t, err)
	})
	// If the timeout were computed before the hook, the call would block
	// (no timer yet); this Post would end it after 3 s.
	h.afterFunc(3*time.Second, func() { _ = l.Post(func(*aeloop.Loop) {}) })
	start := time.Now()
	assert.Equal(t, 1, process(t, l, aeloop.AllEvents|aeloop.CallBeforeSleep))
	assert.Equal(t, 1, ran)
	assert.Less(t, time.Since(start), 2*time.Second, "the timeout ignored the timer made by before-sleep")

	l.SetBeforeSleep(func(l *aeloop.Loop) { l.SetDontWait(true) })
	start = time.Now()
	assert.Equal(t, 0, process(t, l, aeloop.AllEvents|aeloop.CallBeforeSleep))
	assert.Less(t, time.Since(start), 2*time.Second, "the timeout ignored SetDontWait from before-sleep")
}

func loopNoAllocs(t *testing.T, h *harness, l *aeloop.Loop) {
	a := h.readyBoth() // never drained: fires on every call
	files, timers, posts := 0, 0, 0
	require.NoError(t, l.AddEvent(a, event.Readable, func(*aeloop.Loop, int, any, event.Mask) { files++ }, "data"))
	_, err := l.AddTimer(0, func(*aeloop.Loop, int64, any) time.Duration { timers++; return 0 }, "data", nil)
	require.NoError(t, err)
	post := func(*aeloop.Loop) { posts++ }
	step := func() {
		require.NoError(t, l.Post(post), err)
		n, err := l.ProcessEvents(aeloop.AllEvents | aeloop.DontWait)
		require.Equal(t, 2, n, "ProcessEvents: %d, %v (want 2: the fd and the timer)", n, err)
		require.NoError(t, err, "ProcessEvents: %d, %v (want 2: the fd and the timer)", n, err)
	}
	for range 10 {
		step()
	}
	allocs := testing.AllocsPerRun(200, step)
	assert.Zero(t, allocs, "ProcessEvents (with Post) allocated in steady state")
	assert.GreaterOrEqual(t, files, 210)
	assert.Equal(t, files, timers)
	assert.Equal(t, files, posts)
}

func loopStats(t *testing.T, h *harness, l *aeloop.Loop) {
	s0 := l.Stats()
	a, b := h.socketpair()
	h.write(b, "x")
	require.NoError(t, l.AddEvent(a, event.Readable, func(_ *aeloop.Loop, fd int, _ any, _ event.Mask) {
		drain(fd)
		time.Sleep(10 * time.Millisecond)
	}, nil))
	require.NoError(t, l.Post(func(*aeloop.Loop) {}))
	assert.Equal(t, 1, process(t, l, aeloop.AllEvents), "the fd")
	// The timer comes after the first pass: added before it, a stalled
	// machine could make it due in that pass too.
	added := time.Now()
	_, err := l.AddTimer(40*time.Millisecond, nopTimer, nil, nil)
	require.NoError(t, err)
	// The second call polls at least until the timer is due (minus 1 ms of
	// margin for the clock reads around it).
	minPoll := 40*time.Millisecond - time.Since(added) - time.Millisecond
	assert.Equal(t, 1, process(t, l, aeloop.AllEvents), "the timer")
	s := l.Stats()
	assert.Equal(t, s0.Iterations+2, s.Iterations)
	assert.Equal(t, s0.Polls+2, s.Polls)
	assert.Equal(t, s0.Fired+1, s.Fired)
	assert.Equal(t, s0.Timers+1, s.Timers)
	assert.Equal(t, s0.Posts+1, s.Posts)
	assert.GreaterOrEqual(t, s.Polling-s0.Polling, minPoll, "the second call waited for the timer")
	assert.GreaterOrEqual(t, s.Handling-s0.Handling, 10*time.Millisecond, "the handler slept 10 ms")
	assert.Equal(t, s0.Poller.Registers+1, s.Poller.Registers)
	t.Logf("stats: %+v", s)
}
