//go:build linux

package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
)

// TestPollerSignalStorm: blocking Waits on a thread that gets SIGUSR1 from
// tgkill(2) every 50 µs, for one second per backend: no error, no lost
// event, no early return, and no return much later than the deadline.
func TestPollerSignalStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: one second of storm per backend")
	}
	eachBackend(t, func(t *testing.T, h *harness, name string) {
		p, err := mux.Open(1024, mux.WithBackend(name))
		require.NoError(t, err)
		defer p.Close()
		r, w := h.pipe()
		require.NoError(t, p.Add(r, event.Readable))

		stop := signalStorm(50 * time.Microsecond)
		fired := make([]event.Fired, 4)
		const d = 3 * time.Millisecond
		var late time.Duration
		deadline := time.Now().Add(time.Second)
		writes, seen := 0, 0
		for time.Now().Before(deadline) {
			// Idle: a timed Wait runs its full course.
			start := time.Now()
			n, err := p.Wait(fired, d)
			el := time.Since(start)
			require.NoError(t, err)
			require.Zero(t, n)
			require.GreaterOrEqual(t, el, d, "returned early")
			late = max(late, el-d)
			// Ready: a write is reported despite the storm.
			unix.Write(w, []byte{1})
			writes++
			n, err = p.Wait(fired, -1)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			seen++
			unix.Read(r, make([]byte, 1))
		}
		sent := stop()
		assert.Equal(t, writes, seen)
		assert.Less(t, late, 100*time.Millisecond, "a Wait ran far past its deadline")
		t.Logf("%s: %d signals sent, %d write/Wait rounds, worst lateness %v", name, sent, writes, late)
		require.Greater(t, sent, 1000, "the storm did not happen")
	})
}

// TestLoopSignalStormDuringMain: Main runs on a thread that gets SIGUSR1
// from tgkill(2) every 50 µs (Linux only: other kernels deliver a
// process-directed signal to any thread, a case RunLoop's Wait/SingleFdEINTR
// covers everywhere), for one second per backend, while another goroutine
// writes a pipe in ping-pong (a byte, then it waits for the read handler
// to have consumed it) and a 1 ms periodic timer runs. Main must return
// no error, every byte must be seen, the timer must never run early, and
// its lateness must stay bounded.
func TestLoopSignalStormDuringMain(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: one second of storm per backend")
	}
	eachBackend(t, func(t *testing.T, h *harness, name string) {
		l, err := aeloop.CreateLoop(1024, mux.WithBackend(name))
		require.NoError(t, err)
		defer l.Close()
		r, w := h.pipe()

		acks := make(chan int, 1)
		read := 0 // loop goroutine; read after Main returned
		require.NoError(t, l.AddEvent(r, event.Readable, func(*aeloop.Loop, int, any, event.Mask) {
			if n, _ := drain(r); n > 0 {
				read += n
				acks <- n
			}
		}, nil))

		const period = time.Millisecond
		var late []time.Duration
		var returned time.Time
		_, err = l.AddTimer(period, func(*aeloop.Loop, int64, any) time.Duration {
			start := time.Now()
			if !returned.IsZero() {
				late = append(late, start.Sub(returned.Add(period)))
			}
			returned = time.Now() // the loop reads its clock after this
			return period
		}, nil, nil)
		require.NoError(t, err)

		written, lost := 0, false
		writerDone := make(chan struct{})
		go func() { // the writer, in ping-pong with the read handler
			defer close(writerDone)
			defer l.Stop()
			for end := time.Now().Add(time.Second); time.Now().Before(end); {
				if n, err := unix.Write(w, []byte{1}); n != 1 || err != nil {
					assert.Fail(t, fmt.Sprintf("write: %d, %v", n, err))
					return
				}
				written++
				select {
				case <-acks:
				case <-time.After(2 * time.Second):
					lost = true // the loop never reported the byte
					return
				}
			}
		}()

		stop := signalStorm(50 * time.Microsecond)
		err = l.Main()
		sent := stop()
		<-writerDone
		require.NoError(t, err, "Main under a signal storm")
		assert.False(t, lost, "a write to the pipe was not reported within 2 s")
		assert.Equal(t, written, read, "bytes written and read by the handler")
		require.NotEmpty(t, late, "the 1 ms timer never ran twice")
		median, p99, worst := percentiles(late)
		t.Logf("%s: %d signals, %d ping-pong rounds, %d timer runs: lateness median %v, p99 %v, max %v (min %v)",
			name, sent, written, len(late)+1, median, p99, worst, late[0])
		assert.GreaterOrEqual(t, late[0], time.Duration(0), "the timer ran early")
		assert.Less(t, median, 5*time.Millisecond, "the timer's median lateness under the storm")
		assert.Less(t, worst, 250*time.Millisecond, "the timer ran far past its due time")
		assert.Greater(t, len(late), 200, "the 1 ms timer ran only %d times in a second", len(late))
		require.Greater(t, sent, 1000, "the storm did not happen")
	})
}
