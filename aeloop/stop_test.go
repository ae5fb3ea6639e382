package aeloop_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
)

// mainDone runs l.Main on a new goroutine and returns its result channel.
func mainDone(l *aeloop.Loop) <-chan error {
	done := make(chan error, 1)
	go func() { done <- l.Main() }()
	return done
}

// waitMain fails the test unless Main returns nil within d.
func waitMain(t *testing.T, done <-chan error, d time.Duration, what string) bool {
	t.Helper()
	select {
	case err := <-done:
		return assert.NoError(t, err, what)
	case <-time.After(d):
		t.Errorf("%s: Main still running after %v", what, d)
		return false
	}
}

// A RequestStop from another goroutine, racing with the loop goroutine's
// start of Main, always ends Main: 1,000 races on every backend. The loop
// has a registered timer far in the future, so Main would otherwise block.
func TestRequestStopRacesMain(t *testing.T) {
	for _, name := range mux.Backends() {
		t.Run(name, func(t *testing.T) {
			for i := range 1000 {
				l, err := aeloop.CreateLoop(64, mux.WithBackend(name))
				require.NoError(t, err)
				_, err = l.AddTimer(time.Hour, func(*aeloop.Loop, int64, any) time.Duration { return aeloop.NoMore }, nil, nil)
				require.NoError(t, err)
				start := make(chan struct{})
				done := make(chan error, 1)
				go func() { <-start; done <- l.Main() }()
				go func() { <-start; l.RequestStop() }()
				close(start)
				ok := waitMain(t, done, 10*time.Second, "race")
				require.NoError(t, l.Close())
				if !ok {
					t.Fatalf("round %d lost the stop request", i)
				}
			}
		})
	}
}

// ae's Stop keeps ae's rule (a Stop before Main is forgotten), while a
// RequestStop before Main ends the next Main at once, without running an
// iteration, and is consumed by it.
func TestRequestStopBeforeMain(t *testing.T) {
	l, err := aeloop.CreateLoop(64)
	require.NoError(t, err)
	defer l.Close()
	iterations := 0
	l.SetBeforeSleep(func(*aeloop.Loop) { iterations++ })

	l.RequestStop()
	l.RequestStop() // requests before Main takes one count as one
	l.Stop()
	require.True(t, waitMain(t, mainDone(l), 5*time.Second, "request before Main"))
	assert.Zero(t, iterations, "Main ran an iteration despite the request")

	// The request was consumed and Stop forgotten: this Main runs until a
	// timer stops it, after several iterations.
	ticks := 0
	_, err = l.AddTimer(time.Millisecond, func(l *aeloop.Loop, _ int64, _ any) time.Duration {
		if ticks++; ticks == 3 {
			l.Stop()
			return aeloop.NoMore
		}
		return time.Millisecond
	}, nil, nil)
	require.NoError(t, err)
	require.True(t, waitMain(t, mainDone(l), 5*time.Second, "Main after the request"))
	assert.Equal(t, 3, ticks)
}

// A RequestStop wakes a Main blocked in the poll with nothing to do.
func TestRequestStopWakesBlockedMain(t *testing.T) {
	for _, name := range mux.Backends() {
		t.Run(name, func(t *testing.T) {
			l, err := aeloop.CreateLoop(64, mux.WithBackend(name))
			require.NoError(t, err)
			defer l.Close()
			entered := make(chan struct{})
			require.NoError(t, l.Post(func(*aeloop.Loop) { close(entered) }))
			done := mainDone(l)
			<-entered
			time.Sleep(20 * time.Millisecond) // let it block in the poll
			l.RequestStop()
			waitMain(t, done, 5*time.Second, "blocked Main")
		})
	}
}

// After Close, RequestStop does nothing and Main reports the close.
func TestRequestStopAfterClose(t *testing.T) {
	l, err := aeloop.CreateLoop(64)
	require.NoError(t, err)
	require.NoError(t, l.Close())
	l.RequestStop()
	assert.True(t, errors.Is(l.Main(), mux.ErrClosed))
}
