package tests

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

func loopStopBeforeMain(t *testing.T, h *harness, l *aeloop.Loop) {
	l.Stop()
	ran := false
	start := time.Now()
	_, err := l.AddTimer(20*time.Millisecond, func(l *aeloop.Loop, _ int64, _ any) time.Duration {
		ran = true
		l.Stop()
		return aeloop.NoMore
	}, nil, nil)
	require.NoError(t, err)
	require.NoError(t, l.Main())
	assert.True(t, ran, "Main returned at once: a Stop before Main was remembered")
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
}

func loopStopFromHandler(t *testing.T, h *harness, l *aeloop.Loop) {
	a := h.readyBoth() // stays readable: level-triggered
	calls, timers := 0, 0
	require.NoError(t, l.AddEvent(a, event.Readable, func(l *aeloop.Loop, _ int, _ any, _ event.Mask) {
		calls++
		l.Stop()
		_, err := l.AddTimer(0, func(*aeloop.Loop, int64, any) time.Duration { timers++; return aeloop.NoMore }, nil, nil)
		assert.NoError(t, err)
	}, nil))
	require.NoError(t, l.Main())
	assert.Equal(t, 1, calls, "Main went on after Stop")
	assert.Equal(t, 1, timers, "Main returned before the end of the iteration")
	require.NoError(t, l.Main(), "Main clears an earlier Stop")
	assert.Equal(t, 2, calls)
}

func loopStopFromGoroutine(t *testing.T, h *harness, l *aeloop.Loop) {
	a, _ := h.socketpair()
	require.NoError(t, l.AddEvent(a, event.Readable, nopHandler, nil)) // idle: Main blocks
	started := make(chan struct{})
	require.NoError(t, l.Post(func(*aeloop.Loop) { close(started) }))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-started
			time.Sleep(20 * time.Millisecond)
			l.Stop()
		}()
	}
	start := time.Now()
	require.NoError(t, l.Main())
	wg.Wait()
	assert.Less(t, time.Since(start), 5*time.Second)
}

func loopCloseTest(t *testing.T, h *harness, l *aeloop.Loop) {
	a := h.readyBoth()
	files, fins, posted := 0, 0, 0
	require.NoError(t, l.AddEvent(a, event.Readable, func(*aeloop.Loop, int, any, event.Mask) { files++ }, nil))
	fin := func(*aeloop.Loop, any) { fins++ }
	_, err := l.AddTimer(time.Hour, nopTimer, nil, fin)
	require.NoError(t, err)
	id, err := l.AddTimer(time.Hour, nopTimer, nil, fin)
	require.NoError(t, err)
	require.NoError(t, l.DelTimer(id))
	require.NoError(t, l.Post(func(*aeloop.Loop) { posted++ }))

	require.NoError(t, l.Close())
	assert.Equal(t, 2, fins, "every remaining finalizer, deleted timers included")
	assert.Equal(t, 1, posted, "a function accepted by Post runs once, in Close at the latest")
	assert.Equal(t, 0, files, "Close called a file handler")
	assert.True(t, fdtest.IsOpen(a), "Close closed a registered fd")

	assert.ErrorIs(t, l.Close(), mux.ErrClosed)
	assert.ErrorIs(t, l.AddEvent(a, event.Writable, nopHandler, nil), mux.ErrClosed)
	_, err = l.AddTimer(0, nopTimer, nil, nil)
	assert.ErrorIs(t, err, mux.ErrClosed)
	assert.ErrorIs(t, l.DelTimer(0), mux.ErrClosed)
	_, err = l.ProcessEvents(aeloop.AllEvents | aeloop.DontWait)
	assert.ErrorIs(t, err, mux.ErrClosed)
	assert.ErrorIs(t, l.Post(func(*aeloop.Loop) { posted++ }), mux.ErrClosed)
	assert.ErrorIs(t, l.ResizeSetSize(2048), mux.ErrClosed)
	assert.ErrorIs(t, l.Main(), mux.ErrClosed)
	// These only must not panic.
	l.DelEvent(a, event.Readable)
	_ = l.GetEvents(a)
	_ = l.GetClientData(a)
	_ = l.SetSize()
	_ = l.ApiName()
	_ = l.Stats()
	l.Stop()
	assert.Equal(t, 2, fins)
	assert.Equal(t, 1, posted)
}

func loopCloseFromTimer(t *testing.T, h *harness, l *aeloop.Loop) {
	finA, finB, posted := 0, 0, 0
	aRunning, finAWhileRunning, finBWhileRunning := false, false, false
	_, err := l.AddTimer(0, func(l *aeloop.Loop, _ int64, _ any) time.Duration {
		aRunning = true
		assert.NoError(t, l.Post(func(*aeloop.Loop) { posted++ }))
		assert.NoError(t, l.Close())
		// The loop is closed at once; what Close leaves to run (posted
		// functions, finalizers) runs as the outermost ProcessEvents
		// returns, never in the middle of this callback's code.
		_, err := l.AddTimer(0, nopTimer, nil, nil)
		assert.ErrorIs(t, err, mux.ErrClosed, "AddTimer after Close")
		assert.ErrorIs(t, l.Post(func(*aeloop.Loop) { posted++ }), mux.ErrClosed, "Post after Close")
		assert.ErrorIs(t, l.Close(), mux.ErrClosed, "second Close")
		aRunning = false
		return time.Millisecond
	}, nil, func(*aeloop.Loop, any) { finA++; finAWhileRunning = aRunning })
	require.NoError(t, err)
	_, err = l.AddTimer(0, nopTimer, nil, func(*aeloop.Loop, any) { finB++; finBWhileRunning = aRunning })
	require.NoError(t, err)
	n, err := l.ProcessEvents(aeloop.TimeEvents | aeloop.DontWait)
	assert.NoError(t, err, "the call in which a callback closed the loop returns normally")
	assert.Equal(t, 1, n, "the timer due after the closing one did not run")
	assert.Equal(t, 1, finA, "the running timer is finalized after its callback returns")
	assert.False(t, finAWhileRunning)
	assert.Equal(t, 1, finB, "Close finalizes the other timers before ProcessEvents returns")
	assert.False(t, finBWhileRunning, "a finalizer ran in the middle of a callback")
	assert.Equal(t, 1, posted, "the function posted before Close ran once")
	_, err = l.ProcessEvents(aeloop.TimeEvents | aeloop.DontWait)
	assert.ErrorIs(t, err, mux.ErrClosed)
	assert.Equal(t, 1, finA)
	assert.Equal(t, 1, finB)
}

func loopCloseErrors(t *testing.T, h *harness, _ *aeloop.Loop) {
	// Close the loop's own fds behind its back: every close then fails with
	// EBADF, and Close must return every one of those failures, aggregated:
	// one error per fd.
	before := fdtest.OpenFds()
	l := h.newLoop(loopSetSize)
	mine := minus(fdtest.OpenFds(), before)
	// iocp's loop owns two handles (its completion port and its AFD
	// handle), but the Go runtime makes handles of its own at any moment
	// (a new thread's event), and closing one of those kills the process:
	// try again until exactly the loop's two are new.
	for try := 1; l.ApiName() == "iocp" && len(mine) != 2; try++ {
		require.NoError(t, l.Close())
		if try == 5 {
			t.Skipf("the runtime made handles of its own while each of 5 loops was made (%d new handles, the loop's are 2)", len(mine))
		}
		before = fdtest.OpenFds()
		l = h.newLoop(loopSetSize)
		mine = minus(fdtest.OpenFds(), before)
	}
	libkqueue := runtime.GOOS == "linux" && l.ApiName() == "kqueue"
	if len(mine) == 0 || len(mine) > 5 { // five: a kqueue of libkqueue's
		require.NoError(t, l.Close())
		t.Skipf("cannot tell the loop's own fds apart (%d new fds)", len(mine))
	}
	a, _ := h.socketpair()
	require.NoError(t, l.AddEvent(a, event.Readable, nopHandler, nil))
	fins := 0
	_, err := l.AddTimer(time.Hour, nopTimer, nil, func(*aeloop.Loop, any) { fins++ })
	require.NoError(t, err)
	slices.Sort(mine)
	for _, fd := range mine {
		fdtest.Close(fd)
	}
	// A poll on closed kernel objects: an error (epoll, kqueue) or, where
	// the backend cannot tell (poll treats its closed waker as a wake-up),
	// no error. Never a panic.
	_, err = l.ProcessEvents(aeloop.AllEvents | aeloop.DontWait)
	if err != nil {
		assert.ErrorIs(t, err, syscall.EBADF)
	}
	t.Logf("%s: ProcessEvents on closed fds: %v", l.ApiName(), err)
	err = l.Close()
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.EBADF)
	if !libkqueue {
		assert.Equal(t, len(mine), errorCount(err), "Close must report each of the %d fds it failed to close: %v", len(mine), err)
	}
	assert.Equal(t, 1, fins, "finalizers run even when closing fails")
	t.Logf("Close: %v", err)
	assert.ErrorIs(t, l.Close(), mux.ErrClosed)
	if libkqueue {
		t.Skipf("libkqueue defect: %d of the loop's %d fds are libkqueue's own, which it closes itself, "+
			"so their failures cannot reach Close (%d error(s); the other checks ran)", len(mine)-1, len(mine), errorCount(err))
	}
}

// Close from another goroutine while Main is blocked in the poll: Main
// returns ErrClosed at once; the posted function and the finalizers (of a
// live and of a deleted timer) run once each, on the loop goroutine.
func loopCloseWhileBlocked(t *testing.T, h *harness, l *aeloop.Loop) {
	a, _ := h.socketpair()
	require.NoError(t, l.AddEvent(a, event.Readable, nopHandler, nil)) // idle
	var finGs, postGs []int64                                          // loop goroutine only, read after Main returned
	fin := func(*aeloop.Loop, any) { finGs = append(finGs, goroutineID()) }
	_, err := l.AddTimer(time.Hour, nopTimer, nil, fin)
	require.NoError(t, err)
	id, err := l.AddTimer(time.Hour, nopTimer, nil, fin)
	require.NoError(t, err)
	require.NoError(t, l.DelTimer(id)) // finalized at the next timer pass: after the poll
	done, loopG := mainAsync(t, l)
	time.Sleep(20 * time.Millisecond) // Main blocks: an idle fd, a timer an hour away
	require.NoError(t, l.Post(func(*aeloop.Loop) { postGs = append(postGs, goroutineID()) }))
	start := time.Now()
	require.NoError(t, l.Close())
	err = awaitMain(t, done, "Close")
	assert.ErrorIs(t, err, mux.ErrClosed, "Main's error after Close from another goroutine")
	t.Logf("Main returned %v, %v after Close", err, time.Since(start))
	assert.Equal(t, []int64{loopG, loopG}, finGs, "each finalizer once, on the loop goroutine")
	assert.Equal(t, []int64{loopG}, postGs, "the posted function once, on the loop goroutine")
	assert.True(t, fdtest.IsOpen(a), "Close closed a registered fd")
	checkClosed(t, l)
	assert.Len(t, finGs, 2)
}

// Close from another goroutine while a handler runs: Close returns without
// running finalizers in the middle of the handler; the handler's batch
// stops; the finalizers run before ProcessEvents returns. Under -race, a
// finalizer run concurrently with the handler is also a reported race.
func loopCloseWhileHandling(t *testing.T, h *harness, l *aeloop.Loop) {
	inHandler, closeDone := make(chan struct{}), make(chan error, 1)
	calls, fins := 0, 0
	handler := func(l *aeloop.Loop, fd int, _ any, _ event.Mask) {
		if calls++; calls > 1 {
			return // counted: the batch should have stopped
		}
		close(inHandler)
		select {
		case err := <-closeDone:
			assert.NoError(t, err, "Close from another goroutine")
		case <-time.After(subtestLimit / 2):
			t.Error("Close from another goroutine did not return while a handler ran")
		}
		assert.Zero(t, fins, "a finalizer ran while a handler was running")
		_, err := l.AddTimer(0, nopTimer, nil, nil)
		assert.ErrorIs(t, err, mux.ErrClosed, "AddTimer in a handler after Close")
	}
	for range 2 { // two ready fds: whichever comes first runs, the other must not
		fd := h.readyBoth()
		require.NoError(t, l.AddEvent(fd, event.Readable, handler, nil))
		// A separate write handler, due right after the read handler
		// that closes the loop: it must not run either.
		require.NoError(t, l.AddEvent(fd, event.Writable, func(*aeloop.Loop, int, any, event.Mask) { calls++ }, nil))
	}
	_, err := l.AddTimer(0, func(*aeloop.Loop, int64, any) time.Duration {
		t.Error("a timer ran after Close")
		return aeloop.NoMore
	}, nil, func(*aeloop.Loop, any) { fins++ })
	require.NoError(t, err)
	go func() {
		<-inHandler
		closeDone <- l.Close()
	}()
	n, err := l.ProcessEvents(aeloop.AllEvents)
	assert.NoError(t, err, "the call in which the loop was closed after its poll")
	assert.Equal(t, 1, calls, "a handler ran after Close")
	assert.Equal(t, 1, n)
	assert.Equal(t, 1, fins, "the finalizer ran once, before ProcessEvents returned")
	checkClosed(t, l)
	assert.Equal(t, 1, fins)
}

// Close from another goroutine while no ProcessEvents runs: Close runs the
// posted functions and the finalizers itself, before it returns.
func loopCloseWhileIdle(t *testing.T, h *harness, l *aeloop.Loop) {
	var finG, postG int64 = -1, -1
	fins, posts := 0, 0
	_, err := l.AddTimer(time.Hour, nopTimer, nil, func(*aeloop.Loop, any) { fins++; finG = goroutineID() })
	require.NoError(t, err)
	require.NoError(t, l.Post(func(*aeloop.Loop) { posts++; postG = goroutineID() }))
	type result struct {
		g   int64
		err error
	}
	res := make(chan result, 1)
	go func() { res <- result{goroutineID(), l.Close()} }()
	r := <-res
	require.NoError(t, r.err)
	assert.Equal(t, 1, fins)
	assert.Equal(t, 1, posts)
	assert.Equal(t, r.g, finG, "the finalizer ran in Close, on Close's goroutine")
	assert.Equal(t, r.g, postG, "the posted function ran in Close, on Close's goroutine")
	checkClosed(t, l)
}

func loopApiName(t *testing.T, h *harness, l *aeloop.Loop) {
	assert.Contains(t, mux.Backends(), l.ApiName(), "ApiName is not a backend built for this OS")
	assert.Equal(t, 1024, l.SetSize())
	for _, n := range []int{0, -1} {
		_, err := h.loopFn(n)
		assert.ErrorIs(t, err, mux.ErrRange, "set size %d", n)
	}
}

// mainAsync runs l.Main in a new goroutine and returns the channel
// its result arrives on, once the loop goroutine has run a first posted
// function, and that goroutine's id.
func mainAsync(t *testing.T, l *aeloop.Loop) (done <-chan error, loopG int64) {
	t.Helper()
	started := make(chan int64, 1)
	require.NoError(t, l.Post(func(*aeloop.Loop) { started <- goroutineID() }))
	res := make(chan error, 1)
	go func() { res <- l.Main() }()
	select {
	case loopG = <-started:
	case <-time.After(subtestLimit / 2):
		t.Fatal("Main did not run a posted function")
	}
	return res, loopG
}

// awaitMain waits for Main's result, or fails t after a few seconds.
func awaitMain(t *testing.T, done <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(subtestLimit / 2):
		require.FailNow(t, fmt.Sprintf("Main still running %v after %s", subtestLimit/2, what))
		return nil
	}
}

// checkClosed checks what every closed loop answers.
func checkClosed(t *testing.T, l *aeloop.Loop) {
	t.Helper()
	assert.ErrorIs(t, l.Close(), mux.ErrClosed, "second Close")
	assert.ErrorIs(t, l.Post(func(*aeloop.Loop) { t.Error("a function posted after Close ran") }), mux.ErrClosed)
	_, err := l.ProcessEvents(aeloop.AllEvents | aeloop.DontWait)
	assert.ErrorIs(t, err, mux.ErrClosed)
	assert.ErrorIs(t, l.Main(), mux.ErrClosed)
	_, err = l.AddTimer(0, nopTimer, nil, nil)
	assert.ErrorIs(t, err, mux.ErrClosed)
}
