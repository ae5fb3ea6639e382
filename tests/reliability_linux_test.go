//go:build linux

package tests

import (
	"fmt"
	"sync/atomic"
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
// tgkill(2) every 50 µs, for at least one second and 1,000 signals per
// backend (at most 10 s: on a loaded machine the storm is slower): no
// error, no lost event, no early return, and no return later than the
// machine makes a bare nanosleep of the same length on the same thread
// under the same storm (kernelSleep, alternating with the Waits): the
// median lateness within 2 ms of that floor's, and no Wait a whole second
// late.
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

		st := signalStorm(50 * time.Microsecond)
		fired := make([]event.Fired, 4)
		const d = 3 * time.Millisecond
		var late, floor []time.Duration
		begin := time.Now()
		writes, seen := 0, 0
		for el := time.Duration(0); el < time.Second || (st.Sent() < 1000 && el < 10*time.Second); el = time.Since(begin) {
			// Idle: a timed Wait runs its full course.
			start := time.Now()
			n, err := p.Wait(fired, d)
			el := time.Since(start)
			require.NoError(t, err)
			require.Zero(t, n)
			require.GreaterOrEqual(t, el, d, "returned early")
			late = append(late, el-d)
			floor = append(floor, kernelSleep(d)-d)
			// Ready: a write is reported despite the storm.
			unix.Write(w, []byte{1})
			writes++
			n, err = p.Wait(fired, -1)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			seen++
			unix.Read(r, make([]byte, 1))
		}
		sent := st.Stop()
		assert.Equal(t, writes, seen)
		med, p99, worst := percentiles(late)
		floorMed, floorP99, floorWorst := percentiles(floor)
		t.Logf("%s: %d signals sent, %d write/Wait rounds; lateness median %v, p99 %v, max %v; bare nanosleep's median %v, p99 %v, max %v",
			name, sent, writes, med, p99, worst, floorMed, floorP99, floorWorst)
		assert.LessOrEqual(t, med, floorMed+2*time.Millisecond, "the median Wait ran later than a bare nanosleep under the same storm")
		assert.Less(t, worst, time.Second, "a Wait ran a whole second past its deadline")
		require.GreaterOrEqual(t, sent, 1000, "the storm did not happen")
	})
}

// TestLoopSignalStormDuringMain: Main runs on a thread that gets SIGUSR1
// from tgkill(2) every 50 µs (Linux only: other kernels deliver a
// process-directed signal to any thread, a case RunLoop's Wait/SingleFdEINTR
// covers everywhere) while another goroutine writes a pipe in ping-pong (a
// byte, then it waits for the read handler to have consumed it) and a 1 ms
// periodic timer runs, for at least one second, 200 timer runs and 1,000
// signals per backend (at most 10 s). Main must return no error, every byte
// must be seen, and the timer must never run early. Its lateness is
// compared with the machine's floor, 50 bare 1 ms nanosleeps on the same
// thread under the same storm before Main (kernelSleep): the median within
// 5 ms of the floor's, and no run a whole second late.
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
		var runs atomic.Int64 // lateness samples (len(late)), read by the writer
		_, err = l.AddTimer(period, func(*aeloop.Loop, int64, any) time.Duration {
			start := time.Now()
			if !returned.IsZero() {
				late = append(late, start.Sub(returned.Add(period)))
				runs.Add(1)
			}
			returned = time.Now() // the loop reads its clock after this
			return period
		}, nil, nil)
		require.NoError(t, err)

		st := signalStorm(50 * time.Microsecond)
		floor := make([]time.Duration, 50)
		for i := range floor {
			floor[i] = kernelSleep(period) - period
		}
		written, lost := 0, false
		writerDone := make(chan struct{})
		go func() { // the writer, in ping-pong with the read handler
			defer close(writerDone)
			defer l.Stop()
			begin := time.Now()
			for el := time.Duration(0); el < time.Second || ((runs.Load() < 200 || st.Sent() < 1000) && el < 10*time.Second); el = time.Since(begin) {
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

		err = l.Main()
		sent := st.Stop()
		<-writerDone
		require.NoError(t, err, "Main under a signal storm")
		assert.False(t, lost, "a write to the pipe was not reported within 2 s")
		assert.Equal(t, written, read, "bytes written and read by the handler")
		require.NotEmpty(t, late, "the 1 ms timer never ran twice")
		median, p99, worst := percentiles(late)
		floorMed, floorP99, floorWorst := percentiles(floor)
		t.Logf("%s: %d signals, %d ping-pong rounds, %d timer runs: lateness median %v, p99 %v, max %v (min %v); bare 1 ms nanosleep's median %v, p99 %v, max %v",
			name, sent, written, len(late)+1, median, p99, worst, late[0], floorMed, floorP99, floorWorst)
		assert.GreaterOrEqual(t, late[0], time.Duration(0), "the timer ran early")
		assert.LessOrEqual(t, median, floorMed+5*time.Millisecond, "the timer's median lateness under the storm, against a bare nanosleep's")
		assert.Less(t, worst, time.Second, "the timer ran a whole second past its due time")
		assert.GreaterOrEqual(t, len(late), 200, "the 1 ms timer ran only %d times", len(late))
		require.GreaterOrEqual(t, sent, 1000, "the storm did not happen")
	})
}
