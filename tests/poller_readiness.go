package tests

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

// A fresh socketpair reports nothing; after one write the peer is
// Readable, exactly once per Wait, with the right fd.
func pollerFreshSocketpair(t *testing.T, h *harness) {
	p := h.p
	a, b := h.socketpair()
	h.mustAdd(p, a, evR)
	h.mustAdd(p, b, evR)
	h.waitIdle(p, "a fresh socketpair")
	h.write(a, "x")
	for i := 1; i <= 3; i++ {
		h.expect(p, soon, fmt.Sprintf("Wait %d after one write to fd %d", i, a), entry(b, evR))
	}
}

// Level-triggered: a partial read keeps the fd Readable; a full drain
// clears it.
func pollerLevelPartialRead(t *testing.T, h *harness) {
	p := h.p
	a, b := h.socketpair()
	h.mustAdd(p, b, evR)
	h.write(a, "0123456789")
	h.expect(p, soon, "10 bytes queued", entry(b, evR))
	var buf [3]byte
	n, err := fdtest.Read(b, buf[:])
	require.Equal(t, 3, n, "read 3 of 10 bytes: %d, %v", n, err)
	require.NoError(t, err, "read 3 of 10 bytes: %d, %v", n, err)
	h.expect(p, soon, "7 bytes still queued after a partial read", entry(b, evR))
	n, err = drain(b)
	require.Equal(t, 7, n, "drain: %d bytes, %v; want 7, EAGAIN", n, err)
	require.ErrorIs(t, err, errAgain, "drain: %d bytes, %v; want 7, EAGAIN", n, err)
	h.waitIdle(p, "after a full drain")
}

// A connected socket is Writable at once; filled to EAGAIN it is
// not, until the peer drains.
func pollerWritableUntilFull(t *testing.T, h *harness) {
	p := h.p
	for _, kind := range []string{"AF_UNIX socketpair", "TCP over 127.0.0.1"} {
		var a, b int
		if kind == "AF_UNIX socketpair" {
			a, b = h.socketpair()
		} else {
			a, b = h.tcpPair()
		}
		h.mustAdd(p, a, evW)
		h.expect(p, 0, kind+": connected, Wait(0)", entry(a, evW))
		total := h.fill(a)
		if kind == "AF_UNIX socketpair" {
			h.waitIdle(p, kind+": filled to EAGAIN")
		} else {
			// TCP moves data from the send to the peer's receive buffer
			// behind our back: fill again until both are full.
			quiet := false
			fired := make([]event.Fired, 4)
			for try := 0; try < 50 && !quiet; try++ {
				quiet = len(h.wait(p, fired, idleWait)) == 0
				if !quiet {
					total += h.fill(a)
				}
			}
			assert.True(t, quiet, "%s: still Writable after filling it to EAGAIN 50 times (%d bytes)", kind, total)
		}
		deadline := time.Now().Add(soon)
		got := event.None
		fired := make([]event.Fired, 4)
		for got == event.None && time.Now().Before(deadline) {
			_, err := drain(b)
			require.ErrorIs(t, err, errAgain, "%s: drain the peer: %v", kind, err)
			for _, f := range h.wait(p, fired, 10*time.Millisecond) {
				if f.Fd == a {
					got = f.Mask
				}
			}
		}
		assert.Equal(t, evW, got, "%s: after the peer drained %d bytes, fd %d reported %v; want Writable", kind, total, a, got)
		h.mustDel(p, a, evW)
		t.Logf("%s: Writable again after the peer drained %d bytes", kind, total)
	}
}

// Readable and Writable together: one entry with both bits, whether
// registered in one Add or two.
func pollerReadWriteTogether(t *testing.T, h *harness) {
	p := h.p
	a, b := h.socketpair()
	c, d := h.socketpair()
	h.write(b, "x")
	h.write(d, "x")
	h.mustAdd(p, a, evRW)
	h.expect(p, soon, "registered in one Add", entry(a, evRW))
	h.mustAdd(p, c, evR)
	h.mustAdd(p, c, evW)
	h.expect(p, soon, "one fd registered in one Add, one in two", entry(a, evRW), entry(c, evRW))
}

// The peer closes: Readable plus, where Caps says so, the Hangup
// hint; read returns 0, or the reset error after an RST.
func pollerPeerCloses(t *testing.T, h *harness) {
	p := h.p
	caps := p.Caps()
	t.Logf("Caps: Hangup %v, HalfClose %v, Error %v", caps.Hangup, caps.HalfClose, caps.Error)
	check := func(what string, fd int, hangup, reset bool, capName string) {
		t.Helper()
		m := h.waitFor(p, fd, soon, what)
		t.Logf("%s: %v", what, m)
		assert.NotZero(t, m&evR, "%s: reported %v; want Readable", what, m)
		assert.False(t, hangup && m&event.Hangup == 0, "%s: reported %v without Hangup, but Caps().%s is true", what, m, capName)
		var buf [16]byte
		n, err := fdtest.Read(fd, buf[:])
		switch {
		case n == 0 && err == nil:
		case reset && err == errConnReset:
		case reset:
			assert.Fail(t, fmt.Sprintf("%s: read gave %d, %v; want 0 (end of file) or ECONNRESET", what, n, err))
		default:
			assert.Fail(t, fmt.Sprintf("%s: read gave %d, %v; want 0 (end of file)", what, n, err))
		}
		h.mustDel(p, fd, evR)
	}

	rd, wr := h.pipe()
	h.mustAdd(p, rd, evR)
	h.close(wr)
	check("pipe writer closed", rd, caps.Hangup, false, "Hangup")

	a, b := h.socketpair()
	h.mustAdd(p, a, evR)
	h.close(b)
	check("AF_UNIX peer closed", a, caps.Hangup, false, "Hangup")

	a, b = h.socketpair()
	h.mustAdd(p, a, evR)
	require.NoError(t, fdtest.Shutdown(b), "shutdown")
	check("AF_UNIX peer shutdown(SHUT_WR)", a, caps.HalfClose, false, "HalfClose")

	c, s := h.tcpPair()
	h.mustAdd(p, c, evR)
	require.NoError(t, fdtest.Shutdown(s), "shutdown")
	check("TCP peer shutdown(SHUT_WR)", c, caps.HalfClose, false, "HalfClose")

	// A TCP peer's close looks like shutdown(SHUT_WR) from this side: a FIN.
	c, s = h.tcpPair()
	h.mustAdd(p, c, evR)
	h.close(s)
	check("TCP peer closed", c, caps.HalfClose, false, "HalfClose")

	c, s = h.tcpPair()
	require.NoError(t, lingerZero(s), "SO_LINGER")
	h.mustAdd(p, c, evR)
	h.close(s) // with a zero linger time: RST
	check("TCP peer reset (RST)", c, caps.HalfClose, true, "HalfClose")
}

// A listener is Readable while a connection is pending; accepting to
// EAGAIN clears it.
func pollerListener(t *testing.T, h *harness) {
	p := h.p
	l, sa := h.listener()
	h.mustAdd(p, l, evR)
	h.waitIdle(p, "a listener with no pending connection")
	for i := 0; i < 2; i++ {
		_, err := h.dial(sa)
		require.False(t, err != nil && err != errInProgress, "connect to 127.0.0.1:%d: %v", sa.Port, err)
	}
	m := h.waitFor(p, l, soon, "connections pending")
	assert.Equal(t, evR, m, "listener with pending connections reported %v; want Readable", m)
	h.accept(l)
	h.accept(l)
	if fd, err := sysAccept(l); err != errAgain {
		if err == nil {
			fdtest.Close(fd)
		}
		require.FailNow(t, fmt.Sprintf("a third accept: %v; want EAGAIN", err))
	}
	h.waitIdle(p, "after accepting to EAGAIN")
}

// A non-blocking connect to a closed loopback port: Writable (plus
// Error where Caps says so), and SO_ERROR is ECONNREFUSED.
func pollerConnectRefused(t *testing.T, h *harness) {
	p := h.p
	// A port bound but never listened on refuses connections, and nobody
	// else can take it meanwhile.
	_, sa := h.bound(sockStream)
	s, err := h.dial(sa)
	switch err {
	case errInProgress:
	case errConnRefused:
		t.Skipf("connect(2) to 127.0.0.1:%d was refused at once: no readiness to observe on this OS", sa.Port)
	case nil:
		require.FailNow(t, fmt.Sprintf("connect to 127.0.0.1:%d, which nobody listens on, succeeded", sa.Port))
	default:
		require.FailNow(t, fmt.Sprintf("connect to 127.0.0.1:%d: %v", sa.Port, err))
	}
	h.mustAdd(p, s, evW)
	m := h.waitFor(p, s, soon, "a refused connect")
	t.Logf("refused connect reported as %v", m)
	assert.NotZero(t, m&evW, "refused connect reported as %v; want Writable", m)
	assert.False(t, p.Caps().Error && m&event.Error == 0, "refused connect reported as %v without Error, but Caps().Error is true", m)
	if runtime.GOOS == "linux" && p.Name() == "kqueue" {
		t.Skip("libkqueue defect: it reads SO_ERROR to build the error event, which clears it, " +
			"so the ECONNREFUSED is gone when the handler asks (Writable and Error were checked above)")
	}
	e, err := soError(s)
	assert.False(t, err != nil || e != errConnRefused, "SO_ERROR = %v, %v; want ECONNREFUSED", e, err)
}

// UDP: Readable while datagrams are queued, cleared when drained.
func pollerUDP(t *testing.T, h *harness) {
	p := h.p
	rcv, sa := h.bound(sockDgram)
	snd, _ := h.bound(sockDgram)
	h.mustAdd(p, rcv, evR)
	h.waitIdle(p, "an idle UDP socket")
	const n = 3
	for i := 0; i < n; i++ {
		require.NoError(t, sysSendto(snd, []byte{byte('a' + i)}, sa), "sendto")
	}
	var buf [8]byte
	for i := 0; i < n; i++ {
		m := h.waitFor(p, rcv, soon, fmt.Sprintf("%d datagrams queued", n-i))
		assert.Equal(t, evR, m, "%d datagrams queued: reported %v; want Readable", n-i, m)
		k, err := sysRecvfrom(rcv, buf[:])
		require.Equal(t, 1, k, "recvfrom datagram %d: %d, %v", i, k, err)
		require.NoError(t, err, "recvfrom datagram %d: %d, %v", i, k, err)
	}
	_, err := sysRecvfrom(rcv, buf[:])
	require.ErrorIs(t, err, errAgain, "recvfrom after %d datagrams: %v; want EAGAIN", n, err)
	h.waitIdle(p, "every datagram read")
}

// More ready fds than fired holds: later Waits deliver the rest; no
// fd starves.
func pollerMoreReadyThanFired(t *testing.T, h *harness) {
	p := h.p
	const n = 10
	ours := map[int]bool{}
	for i := 0; i < n; i++ {
		a, b := h.socketpair()
		h.write(b, "x")
		h.mustAdd(p, a, evR)
		ours[a] = true
	}
	fired := make([]event.Fired, 3)
	limit := 4 * ((n + len(fired) - 1) / len(fired))
	seen := map[int]int{}
	waits := 0
	for ; waits < limit && len(seen) < n; waits++ {
		got := h.wait(p, fired, soon)
		require.NotZero(t, len(got), "Wait %d returned nothing although %d fds are ready", waits, n)
		for _, f := range got {
			assert.False(t, !ours[f.Fd] || f.Mask != evR, "Wait %d reported fd %d as %v; want one of the ready fds, Readable", waits, f.Fd, f.Mask)
			seen[f.Fd]++
		}
	}
	if len(seen) < n {
		var starved []int
		for fd := range ours {
			if seen[fd] == 0 {
				starved = append(starved, fd)
			}
		}
		slices.Sort(starved)
		assert.Fail(t, fmt.Sprintf("%d Waits of %d entries, %d ready fds: fds %v never reported (starved)", waits, len(fired), n, starved))
	}
	t.Logf("all %d ready fds reported within %d Waits of %d entries", len(seen), waits, len(fired))
}
