package aeconn

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestOutputPoolWindow: the loop's pool of output buffers keeps as many as
// were in use at once over the last poolWindow, so that a loop whose
// batches vary from one cron interval to the next does not give buffers
// back only to make them again (garbage and collections at -c 1000); once
// a whole window passes with fewer in use, it gives back the rest.
func TestOutputPoolWindow(t *testing.T) {
	srv, err := New(Config{CronInterval: 100 * time.Millisecond}, Handler[int]{
		OnData: func(_ *Conn[int], in []byte) int { return len(in) },
	})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	// The loop does not run: its pool and cron are driven from here.
	lp := srv.loops[0]
	window := len(lp.outPeaks)
	require.Equal(t, int(poolWindow/(100*time.Millisecond)), window)
	busy := func(n int) { // n conns write at once, then all is sent
		bufs := make([][]byte, n)
		for i := range bufs {
			bufs[i] = lp.getOut()
		}
		for _, b := range bufs {
			lp.putOut(b)
		}
	}
	busy(100)
	lp.cron()
	require.Len(t, lp.free, 100)
	for i := 1; i < window; i++ {
		busy(10)
		lp.cron()
		require.Len(t, lp.free, 100, "interval %d of the window after the busiest one: trimmed already", i)
	}
	busy(10)
	lp.cron()
	require.Len(t, lp.free, 10, "a whole window with 10 in use at most: the pool keeps 10")
	for range window {
		lp.cron()
	}
	require.Empty(t, lp.free, "a whole window idle: the pool keeps nothing")
	require.Zero(t, lp.outInUse)
}
