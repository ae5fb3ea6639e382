package tests

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
)

func loopPostMany(t *testing.T, h *harness, l *aeloop.Loop) {
	const senders, per = 8, 500
	got := make([][]int, senders) // touched on the loop goroutine only
	total, wrong := 0, 0
	loopG := int64(-1)
	started := make(chan struct{})
	require.NoError(t, l.Post(func(*aeloop.Loop) { loopG = goroutineID(); close(started) }))
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-started:
			case <-time.After(subtestLimit): // the first post never ran
				return
			}
			for i := range per {
				err := l.Post(func(l *aeloop.Loop) {
					if goroutineID() != loopG {
						wrong++
					}
					got[s] = append(got[s], i)
					if total++; total == senders*per {
						l.Stop()
					}
				})
				if !assert.NoError(t, err) {
					return
				}
			}
		}()
	}
	require.NoError(t, l.Main())
	wg.Wait()
	assert.Equal(t, goroutineID(), loopG, "posted functions run on the goroutine running the loop")
	assert.Zero(t, wrong, "a posted function ran on another goroutine")
	for s := range senders {
		require.Len(t, got[s], per, "sender %d", s)
		for i, v := range got[s] {
			require.Equal(t, i, v, "sender %d: position %d ran post %d: out of order", s, i, v)
		}
	}
	assert.Equal(t, uint64(senders*per+1), l.Stats().Posts)
}

func loopPostWakes(t *testing.T, h *harness, l *aeloop.Loop) {
	a, _ := h.socketpair()
	require.NoError(t, l.AddEvent(a, event.Readable, nopHandler, nil))
	ran := false
	start := time.Now() // before the Post is scheduled: it comes 50 ms or more after this
	h.afterFunc(50*time.Millisecond, func() { assert.NoError(t, l.Post(func(*aeloop.Loop) { ran = true })) })
	assert.Equal(t, 0, process(t, l, aeloop.AllEvents))
	assert.True(t, ran, "the call that the Post woke did not run the function")
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "the call returned before the Post")
}

func loopPostNext(t *testing.T, h *harness, l *aeloop.Loop) {
	var log []string
	require.NoError(t, l.Post(func(l *aeloop.Loop) {
		log = append(log, "first")
		assert.NoError(t, l.Post(func(*aeloop.Loop) { log = append(log, "second") }))
	}))
	// No fd, DontWait: no poll, but posted functions still run.
	assert.Equal(t, 0, process(t, l, aeloop.TimeEvents|aeloop.DontWait))
	assert.Equal(t, []string{"first"}, log, "a function posted by a posted function ran in the same call")
	assert.Equal(t, 0, process(t, l, aeloop.FileEvents|aeloop.DontWait))
	assert.Equal(t, []string{"first", "second"}, log)
	assert.ErrorIs(t, l.Post(nil), aeloop.ErrNilFunc)
	assert.Equal(t, 0, process(t, l, 0))
	assert.Equal(t, []string{"first", "second"}, log)
}

// Post from many goroutines racing Close from another one, while Main
// runs: every Post that returned nil ran exactly once, every other returned
// ErrClosed (and once one did, so did every later one), and Main returned
// ErrClosed. A few rounds, on fresh loops, with Close at varied moments.
func loopPostRacingClose(t *testing.T, h *harness, _ *aeloop.Loop) {
	const rounds, senders, per = 10, 8, 2000
	for round := range rounds {
		l := h.newLoop(64)
		ran := make([][]int32, senders) // written on the loop goroutine only
		for s := range ran {
			ran[s] = make([]int32, per)
		}
		done, _ := mainAsync(t, l)
		accepted := make([]int, senders)
		var wg sync.WaitGroup
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range per {
					err := l.Post(func(*aeloop.Loop) { ran[s][i]++ })
					if err != nil {
						assert.ErrorIs(t, err, mux.ErrClosed, "sender %d, post %d", s, i)
						for j := i + 1; j < per; j++ {
							if err := l.Post(func(*aeloop.Loop) { ran[s][j]++ }); !assert.ErrorIs(t, err, mux.ErrClosed) {
								assert.Fail(t, fmt.Sprintf("sender %d: post %d accepted after post %d was refused", s, j, i))
								return
							}
						}
						return
					}
					accepted[s]++
				}
			}()
		}
		time.Sleep(time.Duration(round*300) * time.Microsecond)
		require.NoError(t, l.Close())
		err := awaitMain(t, done, "Close")
		wg.Wait()
		assert.ErrorIs(t, err, mux.ErrClosed)
		total := 0
		for s := range senders {
			total += accepted[s]
			for i, n := range ran[s] {
				want := int32(0)
				if i < accepted[s] {
					want = 1
				}
				require.Equal(t, want, n, "round %d: sender %d, post %d (of %d accepted) ran %d times", round, s, i, accepted[s], n)
			}
		}
		t.Logf("round %d: %d posts accepted before Close, every one ran once", round, total)
	}
}

func loopWait(t *testing.T, h *harness, _ *aeloop.Loop) {
	a, b := h.socketpair()
	m, err := aeloop.Wait(a, event.Readable, 0)
	require.NoError(t, err)
	assert.Equal(t, event.None, m, "nothing to read yet")
	h.write(b, "x")
	m, err = aeloop.Wait(a, event.Readable, time.Second)
	require.NoError(t, err)
	assert.Equal(t, event.Readable, m)
	m, err = aeloop.Wait(a, event.Writable, time.Second)
	require.NoError(t, err)
	assert.Equal(t, event.Writable, m)
	m, err = aeloop.Wait(a, event.Readable|event.Writable, -1)
	require.NoError(t, err)
	assert.Equal(t, event.Readable|event.Writable, m)

	drain(a)
	start := time.Now()
	m, err = aeloop.Wait(a, event.Readable, 50*time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, event.None, m)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "Wait timed out early")

	// A pipe whose writer closed: POLLHUP, reported as Writable (ae).
	r, w := h.pipe()
	h.close(w)
	m, err = aeloop.Wait(r, event.Readable, time.Second)
	require.NoError(t, err)
	assert.True(t, m.Has(event.Writable), "hang-up reports Writable, got %v", m)

	h.close(r)
	_, err = aeloop.Wait(r, event.Readable, 10*time.Millisecond)
	assert.ErrorIs(t, err, syscall.EBADF, "a closed fd")
	_, err = aeloop.Wait(-1, event.Readable, 0)
	assert.ErrorIs(t, err, mux.ErrRange)
	_, err = aeloop.Wait(a, event.Barrier, 0)
	assert.ErrorIs(t, err, mux.ErrBadMask)
}
