package tests

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

// Fault injection on every backend: Close racing a blocked Wait or Main,
// fds closed behind the loop's back, fd leaks over many loops. The signal
// storm is in reliability_linux_test.go (it needs tgkill).

// eachBackend runs fn as one subtest per backend built here, with a
// harness (no watchdog: these tests bound their own waits).
func eachBackend(t *testing.T, fn func(t *testing.T, h *harness, name string)) {
	for _, name := range mux.Backends() {
		t.Run(name, func(t *testing.T) { fn(t, newHarness(t, nil, nil), name) })
	}
}

// relWithin receives from ch, or fails t after d.
func relWithin[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		require.FailNow(t, fmt.Sprintf("%s: nothing after %v", what, d))
		var zero T
		return zero
	}
}

// Close from another goroutine while the Poller is blocked in Wait, 200
// rounds: every Wait returns ErrClosed, promptly, and never anything else.
// Close comes at a random moment, sometimes before the Wait starts.
func TestPollerCloseWhileWaitingRounds(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness, name string) {
		a, _ := h.socketpair()
		rng := rand.New(rand.NewPCG(1, 2))
		blocked := 0
		for round := range 200 {
			p, err := mux.Open(1024, mux.WithBackend(name))
			require.NoError(t, err)
			require.NoError(t, p.Add(a, event.Readable)) // idle: Wait blocks
			res := make(chan error, 1)
			entered := make(chan struct{})
			go func() {
				close(entered)
				n, err := p.Wait(make([]event.Fired, 8), -1)
				if n != 0 {
					err = errors.Join(err, errors.New("Wait reported an fd that is idle"))
				}
				res <- err
			}()
			<-entered
			if d := time.Duration(rng.IntN(300)) * time.Microsecond; d > 150*time.Microsecond {
				time.Sleep(d)
				blocked++
			}
			require.NoError(t, p.Close(), "round %d: Close", round)
			err = relWithin(t, res, 5*time.Second, "Wait after Close")
			require.ErrorIs(t, err, mux.ErrClosed, "round %d: Wait returned %v; want ErrClosed", round, err)
			assert.ErrorIs(t, p.Close(), mux.ErrClosed, "round %d: second Close", round)
		}
		t.Logf("%s: 200 rounds, %d with Close after a pause", name, blocked)
	})
}

// Close from another goroutine while the loop goroutine is in Main (blocked
// in the poll, running a 50 µs periodic timer, or just starting), 200
// rounds: Main returns ErrClosed promptly; the posted function and the
// finalizers run exactly once each, all on the loop goroutine (or all in
// Close, when Close came before Main started).
func TestLoopCloseWhileInMainRounds(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness, name string) {
		a, _ := h.socketpair()
		rng := rand.New(rand.NewPCG(3, 4))
		closeG, inMain := goroutineID(), 0
		for round := range 200 {
			l, err := aeloop.CreateLoop(1024, mux.WithBackend(name))
			require.NoError(t, err)
			require.NoError(t, l.AddEvent(a, event.Readable, nopHandler, nil)) // idle
			var loopG int64
			var ranOn []int64 // loop goroutine only; read after Main returned
			record := func() { ranOn = append(ranOn, goroutineID()) }
			_, err = l.AddTimer(time.Hour, nopTimer, nil, func(*aeloop.Loop, any) { record() })
			require.NoError(t, err)
			_, err = l.AddTimer(time.Duration(rng.IntN(200))*time.Microsecond,
				func(*aeloop.Loop, int64, any) time.Duration { return 50 * time.Microsecond },
				nil, func(*aeloop.Loop, any) { record() })
			require.NoError(t, err)
			require.NoError(t, l.Post(func(*aeloop.Loop) { record() }))
			res := make(chan error, 1)
			entered := make(chan struct{})
			go func() {
				loopG = goroutineID()
				close(entered)
				res <- l.Main()
			}()
			<-entered
			time.Sleep(time.Duration(rng.IntN(400)) * time.Microsecond)
			require.NoError(t, l.Close(), "round %d: Close", round)
			err = relWithin(t, res, 5*time.Second, "Main after Close")
			require.ErrorIs(t, err, mux.ErrClosed, "round %d: Main returned %v; want ErrClosed", round, err)
			require.Equal(t, 3, len(ranOn), "round %d: %d of 1 posted function + 2 finalizers ran", round, len(ranOn))
			// On the loop goroutine if Main had started, else in Close:
			// all in one place either way.
			where := ranOn[0]
			if where == loopG {
				inMain++
			} else if where != closeG {
				require.FailNow(t, fmt.Sprintf("round %d: ran on goroutine %d: neither the loop's (%d) nor Close's (%d)",
					round, where, loopG, closeG))
			}
			for _, g := range ranOn {
				require.Equal(t, where, g, "round %d: finalizers and posted functions ran on goroutines %v", round, ranOn)
			}
		}
		t.Logf("%s: 200 rounds, %d closed while Main ran (the others before it started)", name, inMain)
		assert.Greater(t, inMain, 50, "Close came before Main in most rounds: the test did not test much")
	})
}

// An fd that another part of the program closes while it is registered
// (no DelEvent), whose number then comes back with a new socket: the loop
// neither fails nor spins, the old handler gets at most the one report
// poll makes of a closed fd (POLLNVAL, with the Error hint) and nothing
// after the number is reused, and the new socket's handler gets its own
// events. The new owner registers Readable|Writable, a different interest
// from the old Readable: see package mux's portability rules.
func TestLoopFdClosedBehindItsBack(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness, name string) {
		l, err := aeloop.CreateLoop(1024, mux.WithBackend(name))
		require.NoError(t, err)
		defer l.Close()
		a, b := h.socketpair()
		num := a
		var oldCalls []event.Mask
		reused := false
		require.NoError(t, l.AddEvent(num, event.Readable, func(_ *aeloop.Loop, fd int, _ any, m event.Mask) {
			oldCalls = append(oldCalls, m)
			assert.False(t, reused, "the old handler got %v for the new socket under fd %d", m, fd)
		}, nil))
		h.write(b, "x") // ready when closed: the worst case for a spin
		h.close(a)      // "another part of the program"

		ticks := 0
		_, err = l.AddTimer(10*time.Millisecond, func(*aeloop.Loop, int64, any) time.Duration {
			ticks++
			return 10 * time.Millisecond
		}, nil, nil)
		require.NoError(t, err)
		// Until the timer has run 10 times (about 100 ms; at most 5 s on a
		// loaded machine): a loop that spins on the closed fd polls
		// thousands of times per tick, a sound one once or twice.
		polls := l.Stats().Polls
		begin := time.Now()
		for ticks < 10 && time.Since(begin) < 5*time.Second {
			_, err := l.ProcessEvents(aeloop.AllEvents)
			require.NoError(t, err, "ProcessEvents with a registered fd closed")
		}
		spins := l.Stats().Polls - polls
		t.Logf("%s: %v with the closed fd registered: %d polls, %d ticks, old handler got %v",
			name, time.Since(begin), spins, ticks, oldCalls)
		require.Equal(t, 10, ticks, "the 10 ms timer did not keep running")
		assert.LessOrEqual(t, spins, uint64(4*ticks), "the closed fd makes the loop spin")
		assert.LessOrEqual(t, len(oldCalls), 1, "a closed fd is reported at most once")
		for _, m := range oldCalls {
			assert.NotZero(t, m&event.Error, "a closed fd reported without the Error hint: %v", m)
		}

		// Take the number back with a new socketpair.
		x, y := h.socketpairAt(num)
		reused = true
		var newCalls []event.Mask
		require.NoError(t, l.AddEvent(x, event.Readable|event.Writable, func(l *aeloop.Loop, fd int, _ any, m event.Mask) {
			newCalls = append(newCalls, m)
			if m&event.Readable != 0 {
				drain(fd)
			}
			l.DelEvent(fd, event.Writable) // writable once is enough
		}, "new"))
		assert.Equal(t, "new", l.GetClientData(x))
		h.write(y, "y")
		for i := 0; i < 50 && len(newCalls) == 0; i++ {
			_, err := l.ProcessEvents(aeloop.FileEvents | aeloop.DontWait)
			require.NoError(t, err)
			time.Sleep(time.Millisecond)
		}
		require.NotEmpty(t, newCalls, "the new socket under a reused number got no event")
		assert.Equal(t, event.Readable|event.Writable, newCalls[0]&event.IO,
			"the new socket is readable and writable")
		// Its Readable interest keeps working after the first report.
		h.write(y, "z")
		for i := 0; i < 50 && len(newCalls) < 2; i++ {
			_, err := l.ProcessEvents(aeloop.FileEvents | aeloop.DontWait)
			require.NoError(t, err)
			time.Sleep(time.Millisecond)
		}
		require.Len(t, newCalls, 2, "the second write to the new socket")
		assert.Equal(t, event.Readable, newCalls[1]&event.IO)
		l.DelEvent(x, event.Readable|event.Writable)
	})
}

// 1,000 CreateLoop/Close cycles on each backend, each loop with an fd
// registered, a timer and a posted function, leave the process's fd count
// unchanged.
func TestCreateLoopCloseLeaksNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness, name string) {
		a, _ := h.socketpair()
		// One cycle first: libkqueue keeps two process-wide fds from its
		// first kqueue on; what must not grow is the count per cycle.
		l, err := aeloop.CreateLoop(256, mux.WithBackend(name))
		require.NoError(t, err)
		require.NoError(t, l.Close())
		before := fdtest.OpenFds()
		fins, posts := 0, 0
		for i := range 1000 {
			l, err := aeloop.CreateLoop(256, mux.WithBackend(name))
			require.NoError(t, err)
			require.NoError(t, l.AddEvent(a, event.Readable, nopHandler, nil))
			_, err = l.AddTimer(time.Hour, nopTimer, nil, func(*aeloop.Loop, any) { fins++ })
			require.NoError(t, err)
			require.NoError(t, l.Post(func(*aeloop.Loop) { posts++ }))
			if i%2 == 0 {
				_, err = l.ProcessEvents(aeloop.AllEvents | aeloop.DontWait)
				require.NoError(t, err)
			}
			require.NoError(t, l.Close(), "cycle %d", i)
		}
		assert.Equal(t, before, fdtest.OpenFds(), "fds open before and after 1,000 loops")
		assert.Equal(t, 1000, fins)
		assert.Equal(t, 1000, posts)
	})
}
