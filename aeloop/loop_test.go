package aeloop_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
)

// The full conformance suite is tests.RunLoop, run on every backend by
// tests/backends_test.go. This file measures.

// TestProcessEventsNoAllocs (a heavier load than the suite's
// Process/NoAllocs): with 100 fds firing on
// every call, ten timers firing, read and write handlers, a posted function
// and both hooks, a steady-state ProcessEvents allocates nothing.
func TestProcessEventsNoAllocs(t *testing.T) {
	for _, name := range mux.Backends() {
		t.Run(name, func(t *testing.T) {
			fds := readyPairs(t, 100)
			l, err := aeloop.CreateLoop(1024, mux.WithBackend(name))
			require.NoError(t, err)
			defer l.Close()
			files, timers, posts, hooks := 0, 0, 0, 0
			h := func(*aeloop.Loop, int, any, event.Mask) { files++ }
			for i, fd := range fds {
				require.NoError(t, l.AddEvent(fd, event.Readable, h, i))
				if i%2 == 0 { // a separate write handler, with Barrier for some
					mask := event.Writable
					if i%4 == 0 {
						mask |= event.Barrier
					}
					require.NoError(t, l.AddEvent(fd, mask, h, i))
				}
			}
			for range 10 {
				_, err := l.AddTimer(0, func(*aeloop.Loop, int64, any) time.Duration { timers++; return 0 }, "data", nil)
				require.NoError(t, err)
			}
			l.SetBeforeSleep(func(*aeloop.Loop) { hooks++ })
			l.SetAfterSleep(func(*aeloop.Loop) { hooks++ })
			post := func(*aeloop.Loop) { posts++ }
			step := func() {
				if err := l.Post(post); err != nil {
					t.Fatal(err)
				}
				n, err := l.ProcessEvents(aeloop.AllEvents | aeloop.DontWait | aeloop.CallBeforeSleep | aeloop.CallAfterSleep)
				if err != nil || n != 110 {
					t.Fatalf("ProcessEvents: %d, %v; want 110", n, err)
				}
			}
			for range 10 {
				step()
			}
			allocs := testing.AllocsPerRun(100, step)
			assert.Zero(t, allocs, "allocations per ProcessEvents")
			assert.Equal(t, 111*150, files, "100 fds, half with two handlers, each of 111 calls")
			assert.Equal(t, 111*10, timers)
			assert.Equal(t, 111, posts)
			assert.Equal(t, 2*111, hooks)
		})
	}
}

// TestTimerLateness measures how late a 1 ms periodic timer runs, over
// 1,000 runs per backend, driven by Main: lateness is the time between
// when a run was due (1 ms after the previous callback returned) and when
// it started. The median and p99 are logged; only "never early" is
// asserted strictly, plus a very loose sanity bound, so a loaded machine
// does not fail it.
func TestTimerLateness(t *testing.T) {
	for _, name := range mux.Backends() {
		t.Run(name, func(t *testing.T) {
			l, err := aeloop.CreateLoop(64, mux.WithBackend(name))
			require.NoError(t, err)
			defer l.Close()
			const runs, period = 1000, time.Millisecond
			late := make([]time.Duration, 0, runs)
			var returned time.Time
			_, err = l.AddTimer(period, func(l *aeloop.Loop, _ int64, _ any) time.Duration {
				start := time.Now()
				if !returned.IsZero() {
					late = append(late, start.Sub(returned.Add(period)))
				}
				if len(late) == runs {
					l.Stop()
					return aeloop.NoMore
				}
				returned = time.Now() // the loop reads its clock after this
				return period
			}, nil, nil)
			require.NoError(t, err)
			require.NoError(t, l.Main())
			require.Len(t, late, runs)
			slices.Sort(late)
			median, p99, worst := late[runs/2], late[runs*99/100], late[runs-1]
			t.Logf("%s: 1 ms periodic timer, %d runs: lateness median %v, p99 %v, max %v (min %v)",
				name, runs, median, p99, worst, late[0])
			assert.GreaterOrEqual(t, late[0], time.Duration(0), "a timer ran early")
			assert.Less(t, median, 50*time.Millisecond, "sanity: the median lateness is absurd")
		})
	}
}

// TestMainStatsSplit: in Main, which carries each iteration's closing clock
// reading over as the next one's start, the time spent in hooks, fd
// handlers and timer callbacks is Handling and the time blocked in the
// poll is Polling, as in single ProcessEvents calls.
func TestMainStatsSplit(t *testing.T) {
	for _, name := range mux.Backends() {
		t.Run(name, func(t *testing.T) {
			const nap = 5 * time.Millisecond
			fds := readyPairs(t, 1)
			l, err := aeloop.CreateLoop(1024, mux.WithBackend(name))
			require.NoError(t, err)
			defer l.Close()
			files, timers, befores := 0, 0, 0
			require.NoError(t, l.AddEvent(fds[0], event.Readable, func(l *aeloop.Loop, fd int, _ any, _ event.Mask) {
				files++
				time.Sleep(nap)
				if files == 3 {
					l.DelEvent(fd, event.Readable)
				}
			}, nil))
			_, err = l.AddTimer(0, func(*aeloop.Loop, int64, any) time.Duration {
				timers++
				time.Sleep(nap)
				if timers == 3 {
					return aeloop.NoMore
				}
				return 0
			}, nil, nil)
			require.NoError(t, err)
			// Once both are done, the loop blocks in the poll until a timer
			// stops it. That timer is first due at 60 ms and comes again
			// every 20 ms until both are done: on a loaded machine (two CPU
			// hogs, Wine) three 15 ms iterations took longer than 60 ms.
			_, err = l.AddTimer(60*time.Millisecond, func(l *aeloop.Loop, _ int64, _ any) time.Duration {
				if files < 3 || timers < 3 {
					return 20 * time.Millisecond
				}
				l.Stop()
				return aeloop.NoMore
			}, nil, nil)
			require.NoError(t, err)
			l.SetBeforeSleep(func(*aeloop.Loop) {
				befores++
				if befores <= 3 {
					time.Sleep(nap)
				}
			})
			s0 := l.Stats()
			start := time.Now()
			require.NoError(t, l.Main())
			took := time.Since(start)
			s := l.Stats()
			require.Equal(t, 3, files)
			require.Equal(t, 3, timers)
			handling, polling := s.Handling-s0.Handling, s.Polling-s0.Polling
			assert.GreaterOrEqual(t, handling, 9*nap, "three hooks, handlers and timer runs slept %v each", nap)
			assert.Greater(t, polling, time.Duration(0), "the poll blocked until the 60 ms timer")
			assert.LessOrEqual(t, handling+polling, took, "Handling and Polling are parts of Main's time")
			assert.GreaterOrEqual(t, handling+polling, took-10*time.Millisecond, "Handling and Polling cover Main's time (but for a few µs around its start and end)")
			t.Logf("Main took %v: handling %v, polling %v, %d iterations", took, handling, polling, s.Iterations-s0.Iterations)
		})
	}
}
