package aeconn_test

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aemux/mux/aeconn"
)

// onLoop runs fn on lp's goroutine and waits for it.
func onLoop[T any](t *testing.T, lp *aeconn.Loop[T], fn func(lp *aeconn.Loop[T])) {
	t.Helper()
	done := make(chan struct{})
	require.NoError(t, lp.Post(func(lp *aeconn.Loop[T]) { fn(lp); close(done) }))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not run a posted function within 10 s")
	}
}

// TestStats: Stats counts accepted conns and the bytes read and written;
// Range, Buffered and Memory show a conn's kept input; Now is the
// iteration's clock.
func TestStats(t *testing.T) {
	srv, err := aeconn.New(aeconn.Config{Listen: tcpListen()}, aeconn.Handler[int]{OnData: echoLines[int]})
	require.NoError(t, err)
	serve(t, srv)
	addr := srv.Addrs()[0]
	for range 3 {
		roundTrip(t, addr, "hello") // 6 bytes each way
	}
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("half a line"))
	require.NoError(t, err)
	lp := srv.Loops()[0]
	var kept, mem int
	require.Eventually(t, func() bool {
		onLoop(t, lp, func(lp *aeconn.Loop[int]) {
			kept, mem = 0, 0
			lp.Range(func(c *aeconn.Conn[int]) bool {
				kept += c.Buffered()
				mem += c.Memory()
				return true
			})
		})
		return kept == len("half a line")
	}, 5*time.Second, time.Millisecond, "the incomplete line is not kept")
	require.GreaterOrEqual(t, mem, kept)
	require.Less(t, mem, 1<<10, "an 11-byte rest is kept in a buffer sized to it")
	// The byte counts are published before the loop next polls: the
	// read of the half line may be in the iteration that ran onLoop.
	var st aeconn.Stats
	require.Eventually(t, func() bool {
		st = srv.Stats()
		return st.BytesIn == uint64(3*6+len("half a line"))
	}, 5*time.Second, time.Millisecond, "BytesIn never counted the 29 bytes read")
	require.EqualValues(t, 4, st.Accepted)
	require.Zero(t, st.Rejected)
	require.Zero(t, st.Evicted)
	require.EqualValues(t, 3*6, st.BytesOut)
	var now time.Time
	onLoop(t, lp, func(lp *aeconn.Loop[int]) { now = lp.Now() })
	require.WithinDuration(t, time.Now(), now, 2*time.Second)
}

// TestReleaseMemory: with ReleaseMemory, the memory that conns held
// (here 96 MiB of kept input) is given back to the OS once they have gone;
// without it, the same burst releases nothing.
func TestReleaseMemory(t *testing.T) {
	for _, release := range []bool{false, true} {
		// The handler waits for more, as a parser does for the rest of a
		// large argument.
		keep := func(*aeconn.Conn[int], []byte) int { return 0 }
		srv, err := aeconn.New(aeconn.Config{Listen: tcpListen(), ReleaseMemory: release, CronInterval: 20 * time.Millisecond},
			aeconn.Handler[int]{OnData: keep})
		require.NoError(t, err)
		serve(t, srv)
		chunk := bytes.Repeat([]byte("z"), 1<<20)
		var conns []net.Conn
		for range 3 {
			c, err := net.Dial("tcp", srv.Addrs()[0])
			require.NoError(t, err)
			c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			for range 32 {
				_, err := c.Write(chunk)
				require.NoError(t, err)
			}
			conns = append(conns, c)
		}
		// Wait until the server has read it all, and a cron saw it.
		require.Eventually(t, func() bool { return srv.Stats().BytesIn == 96<<20 }, 10*time.Second, 5*time.Millisecond)
		time.Sleep(100 * time.Millisecond)
		for _, c := range conns {
			c.Close()
		}
		if !release {
			time.Sleep(3 * time.Second)
			require.Zero(t, srv.Releases(), "released without ReleaseMemory")
			continue
		}
		require.Eventually(t, func() bool { return srv.Releases() > 0 }, 5*time.Second, 10*time.Millisecond,
			"96 MiB of buffers went and nothing was given back")
	}
}
