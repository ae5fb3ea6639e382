package tests

import (
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

const (
	evR  = event.Readable
	evW  = event.Writable
	evRW = event.Readable | event.Writable
)

// RunPoller runs the Poller conformance suite against Pollers made by
// open, one subtest per scenario, named group/scenario as the package doc
// lists them ("Register/AddReadThenWrite" ... "Lifetime/PollerFdWatchable"),
// so that a group or one scenario can be picked with
// -run 'Poller/.*/Register/' or -run 'Poller/.*/Wait/WakeStorm'.
//
// Every subtest starts with a fresh Poller of set size 4096 made by open
// and fresh fds (socketpairs, pipes, TCP and UDP sockets on 127.0.0.1
// only), releases them all when it ends, and runs under a watchdog that
// fails it after 10 s and closes its Pollers so that a stuck Wait returns.
// Every Wait the suite makes is also checked for what any Wait must give:
// at most one entry per fd, only registered fds and bits, no unknown bits.
//
// open gets the set size and the suite's own options: Modes/Edge and
// Modes/Oneshot pass mux.WithMode. Where the backend lacks the mode (Edge
// on poll), the subtest checks that the backend says so: Caps reports it
// absent and open fails with an error matching errors.ErrUnsupported.
// Likewise the Hangup hint is required only where Caps reports it
// (Caps.Hangup for a pipe writer's or AF_UNIX peer's close,
// Caps.HalfClose for shutdown(SHUT_WR), a TCP peer's close and an RST),
// and the Error hint of a refused connect only where Caps.Error is true.
//
// Timing checks are one-sided: a timed Wait must never return early, while
// lateness is only logged, or bounded loosely (a median overshoot under
// 20 ms), so that a loaded machine does not fail the suite. The package
// doc says when a subtest skips. Wait/Signals sends SIGUSR1 to the waiting
// thread (tgkill on Linux, the process elsewhere) and catches it with
// signal.Notify while it runs. The whole suite takes about 1.5 s per
// backend under -race.
func RunPoller(t *testing.T, open PollerOpener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"Register/AddReadThenWrite", pollerAddReadThenWrite},
		{"Register/AddSameMaskTwice", pollerAddSameMaskTwice},
		{"Register/DelPartOfMask", pollerDelPartOfMask},
		{"Register/DelUnregistered", pollerDelUnregistered},
		{"Register/BadInput", pollerBadInput},
		{"Register/NotPollable", pollerNotPollable},
		{"Register/ClosedWithoutDel", pollerClosedWithoutDel},
		{"Register/Resize", pollerResize},
		{"Register/ManyFds", pollerManyFds},
		{"Readiness/FreshSocketpair", pollerFreshSocketpair},
		{"Readiness/LevelPartialRead", pollerLevelPartialRead},
		{"Readiness/WritableUntilFull", pollerWritableUntilFull},
		{"Readiness/ReadWriteTogether", pollerReadWriteTogether},
		{"Readiness/PeerCloses", pollerPeerCloses},
		{"Readiness/Listener", pollerListener},
		{"Readiness/ConnectRefused", pollerConnectRefused},
		{"Readiness/UDP", pollerUDP},
		{"Readiness/MoreReadyThanFired", pollerMoreReadyThanFired},
		{"Modes/Edge", pollerEdge},
		{"Modes/Oneshot", pollerOneshot},
		{"Wait/TimeoutZero", pollerTimeoutZero},
		{"Wait/TimedWaitNeverEarly", pollerTimedWaitNeverEarly},
		{"Wait/WakeBeforeWait", pollerWakeBeforeWait},
		{"Wait/WakeStorm", pollerWakeStorm},
		{"Wait/Signals", pollerSignals},
		{"Lifetime/CloseUnblocksWait", pollerCloseUnblocksWait},
		{"Lifetime/CloexecNoLeak", pollerCloexecNoLeak},
		{"Lifetime/WaitAllocs", pollerWaitAllocs},
		{"Lifetime/PollerFdWatchable", pollerFdWatchable},
	}
	for _, c := range cases {
		runSubtest(t, c.name, open, nil, func(t *testing.T, h *harness) {
			h.p = h.open(pollerSetSize)
			c.fn(t, h)
		})
	}
}

// mustAdd and mustDel fail the subtest when Add or Del fails.
func (h *harness) mustAdd(p *mux.Poller, fd int, m event.Mask) {
	h.t.Helper()
	require.NoError(h.t, p.Add(fd, m), "Add(%d, %v)", fd, m)
}

func (h *harness) mustDel(p *mux.Poller, fd int, m event.Mask) {
	h.t.Helper()
	require.NoError(h.t, p.Del(fd, m), "Del(%d, %v)", fd, m)
}

// wantMask fails the subtest unless p's table holds want for fd.
func (h *harness) wantMask(p *mux.Poller, fd int, want event.Mask, why string) {
	h.t.Helper()
	assert.Equal(h.t, want, p.Mask(fd), "%s: Mask(%d)", why, fd)
}

// kernelCalls is how far the kernel-call counters (Registers, Modifies,
// Deregisters) moved from a to b; the other fields are zero.
func kernelCalls(a, b mux.Stats) mux.Stats {
	return mux.Stats{
		Registers:   b.Registers - a.Registers,
		Modifies:    b.Modifies - a.Modifies,
		Deregisters: b.Deregisters - a.Deregisters,
	}
}

// wantCalls fails the subtest unless the kernel-call counters moved by
// exactly want's Registers, Modifies and Deregisters since before.
func (h *harness) wantCalls(p *mux.Poller, before mux.Stats, why string, want mux.Stats) {
	h.t.Helper()
	assert.Equal(h.t, want, kernelCalls(before, p.Stats()), "%s: kernel calls", why)
}

// sentinels are the Poller's distinct errors.
var sentinels = []struct {
	name string
	err  error
}{
	{"ErrRange", mux.ErrRange},
	{"ErrBadMask", mux.ErrBadMask},
	{"ErrClosed", mux.ErrClosed},
	{"ErrNotPollable", mux.ErrNotPollable},
}

// wantErr fails the subtest unless err matches want and none of the
// other sentinel errors.
func (h *harness) wantErr(err, want error, why string) {
	h.t.Helper()
	if !assert.ErrorIs(h.t, err, want, why) {
		return
	}
	for _, s := range sentinels {
		if s.err != want {
			assert.NotErrorIs(h.t, err, s.err, "%s: matches %s as well as %v; the errors must be distinct", why, s.name, want)
		}
	}
}

// check verifies what every Wait must give, whatever the scenario: n
// within fired, at most one entry per fd, only registered fds, only
// registered Readable/Writable bits (at least one of them) plus the
// Hangup and Error hints, no unknown bit.
func (h *harness) check(p *mux.Poller, fired []event.Fired, n int) {
	h.t.Helper()
	require.True(h.t, n >= 0 && n <= len(fired), "Wait returned n=%d with a fired slice of %d", n, len(fired))
	for i, f := range fired[:n] {
		for _, g := range fired[:i] {
			assert.NotEqual(h.t, g.Fd, f.Fd, "Wait reported fd %d twice in one call (%v and %v); at most one entry per fd", f.Fd, g.Mask, f.Mask)
		}
		reg := p.Mask(f.Fd) & event.IO
		if !assert.NotEqual(h.t, event.None, reg, "Wait reported fd %d (%v), which is not registered", f.Fd, f.Mask) {
			continue
		}
		assert.NotEqual(h.t, event.None, f.Mask&event.IO, "Wait reported fd %d with %v: neither Readable nor Writable", f.Fd, f.Mask)
		assert.Zero(h.t, f.Mask&event.IO&^reg, "Wait reported fd %d with %v, but only %v is registered", f.Fd, f.Mask, reg)
		assert.Zero(h.t, f.Mask&^(event.IO|event.Hangup|event.Error), "Wait reported fd %d with %v: bits a report never carries", f.Fd, f.Mask)
	}
}

// wait calls p.Wait, fails the subtest on an error, checks the entries
// (see check) and returns a copy of them.
func (h *harness) wait(p *mux.Poller, fired []event.Fired, timeout time.Duration) []event.Fired {
	h.t.Helper()
	n, err := p.Wait(fired, timeout)
	require.NoError(h.t, err, "Wait(%v)", timeout)
	h.check(p, fired, n)
	return slices.Clone(fired[:n])
}

// waitIdle waits idleWait on p, where nothing is ready and no Wake is
// pending, and fails the subtest if Wait reports anything, returns before
// the timeout, or spins: it may return to the kernel early now and then
// (the backend contract allows it), but not thousands of times.
func (h *harness) waitIdle(p *mux.Poller, why string) {
	h.t.Helper()
	fired := make([]event.Fired, 8)
	before := p.Stats().Waits
	start := time.Now()
	got := h.wait(p, fired, idleWait)
	el := time.Since(start)
	waits := p.Stats().Waits - before
	if !assert.Empty(h.t, got, "%s: Wait(%v) reported entries; want nothing", why, idleWait) {
		return
	}
	assert.GreaterOrEqual(h.t, el, idleWait, "%s: Wait(%v) returned nothing early: a timed Wait returned early", why, idleWait)
	assert.LessOrEqual(h.t, waits, spinLimit(idleWait), "%s: one Wait(%v) went to the kernel too often: it spins", why, idleWait)
}

// spinLimit is how many backend waits one idle Wait of d may make: a
// backend may return early (a signal, a coarse timer), but one return per
// 100 µs is a busy loop.
func spinLimit(d time.Duration) uint64 { return 10 + uint64(d/(100*time.Microsecond)) }

// waitFor calls Wait on p until it reports fd or within passes, and
// returns fd's mask. Entries for other fds are checked (see check) and
// ignored. It fails the subtest if fd is not reported in time.
func (h *harness) waitFor(p *mux.Poller, fd int, within time.Duration, why string) event.Mask {
	h.t.Helper()
	fired := make([]event.Fired, 16)
	deadline := time.Now().Add(within)
	for {
		left := time.Until(deadline)
		require.Positive(h.t, left, "%s: fd %d was not reported within %v", why, fd, within)
		for _, f := range h.wait(p, fired, left) {
			if f.Fd == fd {
				return f.Mask
			}
		}
	}
}

// expect waits once (with timeout) and requires exactly the entries want,
// in any order.
func (h *harness) expect(p *mux.Poller, timeout time.Duration, why string, want ...event.Fired) {
	h.t.Helper()
	got := h.wait(p, make([]event.Fired, len(want)+8), timeout)
	assert.Equal(h.t, formatEntries(want), formatEntries(got), "%s: Wait's entries", why)
}

// sortedEntries returns a copy of f in fd order.
func sortedEntries(f []event.Fired) []event.Fired {
	s := slices.Clone(f)
	sort.Slice(s, func(i, j int) bool { return s[i].Fd < s[j].Fd })
	return s
}

// formatEntries prints entries in fd order, "nothing" for none: equal
// strings are equal sets of entries.
func formatEntries(f []event.Fired) string {
	if len(f) == 0 {
		return "nothing"
	}
	s := ""
	for i, e := range sortedEntries(f) {
		if i > 0 {
			s += ", "
		}
		s += "fd " + strconv.Itoa(e.Fd) + " " + e.Mask.String()
	}
	return s
}

// entry builds an entry.
func entry(fd int, m event.Mask) event.Fired { return event.Fired{Fd: fd, Mask: m} }
