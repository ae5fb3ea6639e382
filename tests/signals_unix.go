//go:build unix

package tests

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

// The scenarios that send signals, and their signal storm: unix only
// (signals_windows.go says why they skip there).

// storm is a running signalStorm.
type storm struct {
	sent atomic.Int64
	stop func()
}

// Sent returns how many signals have been sent so far; safe from any
// goroutine.
func (s *storm) Sent() int { return int(s.sent.Load()) }

// Stop ends the storm and returns how many signals were sent. Call it
// from the goroutine that started the storm: it unlocks that goroutine's
// thread.
func (s *storm) Stop() int {
	s.stop()
	return s.Sent()
}

// signalStorm locks the calling goroutine to its thread and sends it
// SIGUSR1 every interval (threadSignaller: tgkill on Linux, so that a
// blocking poll in that very thread is interrupted with EINTR; elsewhere
// the kernel picks the thread, so only sometimes) until Stop. On a loaded
// machine the ticker falls behind, so tests that need a number of signals
// wait for Sent to reach it rather than for a time.
func signalStorm(interval time.Duration) *storm {
	runtime.LockOSThread()
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGUSR1)
	send := threadSignaller(unix.SIGUSR1)
	quit, done := make(chan struct{}), make(chan struct{})
	st := &storm{}
	go func() {
		defer close(done)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tk.C:
				if send() == nil {
					st.sent.Add(1)
				}
			case <-ch:
			}
		}
	}()
	st.stop = func() {
		close(quit)
		<-done
		signal.Stop(ch)
		runtime.UnlockOSThread()
	}
	return st
}

// Signals hitting the waiting thread (EINTR): no error, no lost
// event, no early return, no extended deadline.
func pollerSignals(t *testing.T, h *harness) {
	p := h.p
	a, b := h.socketpair()
	h.mustAdd(p, a, evR)

	st := signalStorm(200 * time.Microsecond)
	stormed := false
	defer func() {
		if !stormed {
			st.Stop()
		}
	}()

	const timeout, calls = 50 * time.Millisecond, 5
	fired := make([]event.Fired, 8)
	s := p.Stats()
	over, floor := make([]time.Duration, calls), make([]time.Duration, calls)
	for i := 0; i < calls; i++ {
		floor[i] = kernelSleep(timeout) - timeout // the same thread, the same storm
		start := time.Now()
		got := h.wait(p, fired, timeout)
		el := time.Since(start)
		assert.Empty(t, got, "Wait(%v) under signals reported %s; nothing is ready", timeout, formatEntries(got))
		assert.GreaterOrEqual(t, el, timeout, "Wait(%v) under signals returned after %v: early", timeout, el)
		over[i] = el - timeout
	}
	notLater(t, fmt.Sprintf("Wait(%v) under signals: the deadline was extended", timeout), over, floor, 20*time.Millisecond)
	waits := p.Stats().Waits - s.Waits
	assert.False(t, signalsHit && waits <= calls, "no Wait was interrupted (%d kernel waits for %d Waits): the signals missed the waiting thread, nothing was tested", waits, calls)

	// An fd that becomes ready during the storm is reported.
	for i := 0; i < 3; i++ {
		werr := make(chan error, 1)
		go func() {
			time.Sleep(20 * time.Millisecond)
			_, err := fdtest.Write(b, []byte{'x'})
			werr <- err
		}()
		start := time.Now()
		got := h.wait(p, fired, soon)
		el := time.Since(start)
		require.NoError(t, <-werr, "write")
		assert.Equal(t, formatEntries([]event.Fired{entry(a, evR)}), formatEntries(got),
			"Wait under signals, fd %d written after 20ms: reported after %v", a, el)
		n, err := drain(a)
		require.Equal(t, 1, n, "drain")
		require.Equal(t, errAgain, err, "drain")
	}
	stormed = true
	sent := st.Stop()
	t.Logf("%d signals sent; %d Waits of %v went to the kernel %d times", sent, calls, timeout, waits)
	require.NotZero(t, sent, "no SIGUSR1 could be sent: nothing was tested")
}

func loopWaitEINTR(t *testing.T, h *harness, l *aeloop.Loop) {
	a, _ := h.socketpair()
	st := signalStorm(2 * time.Millisecond)
	start := time.Now()
	m, err := aeloop.Wait(a, event.Readable, 200*time.Millisecond)
	el := time.Since(start)
	st.Stop()
	require.NoError(t, err, "EINTR surfaced")
	assert.Equal(t, event.None, m)
	assert.GreaterOrEqual(t, el, 200*time.Millisecond, "a signal ended the wait early")

	ran := 0
	start = time.Now() // before AddTimer: the timer is due 200 ms after it
	_, err = l.AddTimer(200*time.Millisecond, func(*aeloop.Loop, int64, any) time.Duration {
		ran++
		return aeloop.NoMore
	}, nil, nil)
	require.NoError(t, err)
	st = signalStorm(2 * time.Millisecond)
	n, err := l.ProcessEvents(aeloop.TimeEvents)
	el = time.Since(start)
	st.Stop()
	require.NoError(t, err, "EINTR surfaced")
	assert.Equal(t, 1, n, "a signal ended the poll before the timer was due")
	assert.Equal(t, 1, ran)
	assert.GreaterOrEqual(t, el, 200*time.Millisecond)
}
