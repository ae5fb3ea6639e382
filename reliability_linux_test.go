//go:build linux

package mux_test

import (
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

// The storm needs tgkill(2) to aim every signal at the waiting thread;
// elsewhere the kernel picks the thread, and tests.RunPoller's 25_Signals
// covers the process-directed case on every OS.

// A signal storm (SIGUSR1 to the waiting thread every 50µs) during blocking
// Waits: no error, no lost event, no early return, and no return much later
// than the deadline.
func TestSignalStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the storm takes a second per backend")
	}
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, unix.SIGUSR1)
	defer signal.Stop(sigs)
	stopDrain := make(chan struct{})
	var drained sync.WaitGroup
	drained.Add(1)
	go func() {
		defer drained.Done()
		for {
			select {
			case <-sigs:
			case <-stopDrain:
				return
			}
		}
	}()
	defer func() { close(stopDrain); drained.Wait() }()

	eachBackend(t, func(t *testing.T, name string) {
		p, err := mux.Open(1024, mux.WithBackend(name))
		require.NoError(t, err)
		defer p.Close()
		r, w := pipe(t)
		require.NoError(t, p.Add(r, event.Readable))

		tids := make(chan int, 1)
		var stop atomic.Bool
		var sent atomic.Int64
		var storm sync.WaitGroup
		storm.Add(1)
		go func() { // the storm, aimed at the waiting thread
			defer storm.Done()
			tid := <-tids
			for !stop.Load() {
				if unix.Tgkill(unix.Getpid(), tid, unix.SIGUSR1) == nil {
					sent.Add(1)
				}
				time.Sleep(50 * time.Microsecond)
			}
		}()

		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
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
		stop.Store(true)
		storm.Wait()
		assert.Equal(t, writes, seen)
		assert.Less(t, late, 100*time.Millisecond, "a Wait ran far past its deadline")
		t.Logf("%s: %d signals sent, %d write/Wait rounds, worst lateness %v", name, sent.Load(), writes, late)
		require.Greater(t, sent.Load(), int64(1000), "the storm did not happen")
	})
}
