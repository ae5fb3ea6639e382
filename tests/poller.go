package tests

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

const (
	ptR  = event.Readable
	ptW  = event.Writable
	ptRW = event.Readable | event.Writable
)

// RunPoller runs the Poller conformance suite against Pollers made by
// open: CONFORMANCE.md scenarios 1 to 29, each a subtest named after its
// number ("01_AddReadThenWrite" ... "29_PollerFdWatchable"), so that one
// can be picked with -run 'Poller/.*/09_'.
//
// Every subtest starts with a fresh Poller of set size 4096 made by open
// and fresh fds (socketpairs, pipes, TCP and UDP sockets on 127.0.0.1
// only), releases them all when it ends, and runs under a watchdog that
// fails it after 10 s and closes its Pollers so that a stuck Wait returns.
// Every Wait the suite makes is also checked for what any Wait must give:
// at most one entry per fd, only registered fds and bits, no unknown bits.
//
// The scenarios that need a mode (19 Edge, 20 Oneshot) open the same
// backend with mux.Open(n, mux.WithBackend(p.Name()), mux.WithMode(m)).
// Where the backend lacks the mode (Edge on poll), the subtest checks that
// the backend says so: Caps reports it absent and Open fails with an error
// matching errors.ErrUnsupported. Likewise the Hangup hint is required only
// where Caps reports it (Caps.Hangup for a pipe writer's or AF_UNIX peer's
// close, Caps.HalfClose for shutdown(SHUT_WR), a TCP peer's close and an RST),
// and the Error hint of a refused connect only where Caps.Error is true.
//
// Timing checks are one-sided: a timed Wait must never return early, while
// lateness is only logged, or bounded loosely (a median overshoot under
// 20 ms), so that a loaded machine does not fail the suite. Scenario 9
// registers 10,000 fds and raises the soft RLIMIT_NOFILE to the hard limit
// for it; it is skipped, saying why, when the hard limit leaves fewer than
// 2,048 fds. Scenario 25 sends SIGUSR1 to the waiting thread (tgkill on
// Linux, the process elsewhere) and catches it with signal.Notify while it
// runs. The whole suite takes about 1.5 s per backend under -race.
func RunPoller(t *testing.T, open func(setsize int) (*mux.Poller, error)) {
	cases := []struct {
		name string
		fn   func(t *testing.T, h *ptHarness)
	}{
		{"01_AddReadThenWrite", ptAddReadThenWrite},
		{"02_AddSameMaskTwice", ptAddSameMaskTwice},
		{"03_DelPartOfMask", ptDelPartOfMask},
		{"04_DelUnregistered", ptDelUnregistered},
		{"05_BadInput", ptBadInput},
		{"06_NotPollable", ptNotPollable},
		{"07_ClosedWithoutDel", ptClosedWithoutDel},
		{"08_Resize", ptResize},
		{"09_ManyFds", ptManyFds},
		{"10_FreshSocketpair", ptFreshSocketpair},
		{"11_LevelPartialRead", ptLevelPartialRead},
		{"12_WritableUntilFull", ptWritableUntilFull},
		{"13_ReadWriteTogether", ptReadWriteTogether},
		{"14_PeerCloses", ptPeerCloses},
		{"15_Listener", ptListener},
		{"16_ConnectRefused", ptConnectRefused},
		{"17_UDP", ptUDP},
		{"18_MoreReadyThanFired", ptMoreReadyThanFired},
		{"19_Edge", ptEdge},
		{"20_Oneshot", ptOneshot},
		{"21_TimeoutZero", ptTimeoutZero},
		{"22_TimedWaitNeverEarly", ptTimedWaitNeverEarly},
		{"23_WakeBeforeWait", ptWakeBeforeWait},
		{"24_WakeStorm", ptWakeStorm},
		{"25_Signals", ptSignals},
		{"26_CloseUnblocksWait", ptCloseUnblocksWait},
		{"27_CloexecNoLeak", ptCloexecNoLeak},
		{"28_WaitAllocs", ptWaitAllocs},
		{"29_PollerFdWatchable", ptPollerFdWatchable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := ptNewHarness(t, open)
			stop := ptWatchdog(t, h, ptLimit)
			defer stop()
			h.p = h.open(ptSetSize)
			c.fn(t, h)
		})
	}
}

// mustAdd and mustDel fail the subtest when Add or Del fails.
func (h *ptHarness) mustAdd(p *mux.Poller, fd int, m event.Mask) {
	h.t.Helper()
	if err := p.Add(fd, m); err != nil {
		h.t.Fatalf("Add(%d, %v): %v", fd, m, err)
	}
}

func (h *ptHarness) mustDel(p *mux.Poller, fd int, m event.Mask) {
	h.t.Helper()
	if err := p.Del(fd, m); err != nil {
		h.t.Fatalf("Del(%d, %v): %v", fd, m, err)
	}
}

// wantMask fails the subtest unless p's table holds want for fd.
func (h *ptHarness) wantMask(p *mux.Poller, fd int, want event.Mask, why string) {
	h.t.Helper()
	if got := p.Mask(fd); got != want {
		h.t.Errorf("%s: Mask(%d) = %v; want %v", why, fd, got, want)
	}
}

// wantCalls fails the subtest unless the kernel-call counters moved by
// exactly (registers, modifies, deregisters) since before.
func (h *ptHarness) wantCalls(p *mux.Poller, before mux.Stats, why string, want [3]uint64) {
	h.t.Helper()
	if got := ptCtlDelta(before, p.Stats()); got != want {
		h.t.Errorf("%s: kernel calls (register, modify, deregister) = %v; want %v", why, got, want)
	}
}

// 1. Add Readable then Writable: one register (EPOLL_CTL_ADD), then one
// modify (EPOLL_CTL_MOD), and the kernel watches both.
func ptAddReadThenWrite(t *testing.T, h *ptHarness) {
	p := h.p
	a, b := h.socketpair()
	s := p.Stats()
	h.mustAdd(p, a, ptR)
	h.wantMask(p, a, ptR, "after Add(Readable)")
	h.wantCalls(p, s, "the first Add", [3]uint64{1, 0, 0})
	h.waitIdle(p, "Readable registered, nothing to read")

	s = p.Stats()
	h.mustAdd(p, a, ptW)
	h.wantMask(p, a, ptRW, "after Add(Readable) and Add(Writable)")
	h.wantCalls(p, s, "the second Add", [3]uint64{0, 1, 0})
	h.expect(p, ptSoon, "Writable added to an idle socket", ptF(a, ptW))
	h.write(b, "x")
	h.expect(p, ptSoon, "after the peer wrote", ptF(a, ptRW))
}

// 2. Adding bits already registered changes nothing and calls nothing.
func ptAddSameMaskTwice(t *testing.T, h *ptHarness) {
	p := h.p
	a, b := h.socketpair()
	h.write(b, "x")
	h.mustAdd(p, a, ptR)
	s := p.Stats()
	for _, m := range []event.Mask{ptR, ptR, event.None} {
		if err := p.Add(a, m); err != nil {
			t.Errorf("Add(%d, %v) again: %v", a, m, err)
		}
	}
	h.wantMask(p, a, ptR, "after adding Readable again")
	h.wantCalls(p, s, "Adds that change nothing", [3]uint64{0, 0, 0})
	h.expect(p, ptSoon, "registered once, reported once", ptF(a, ptR))

	h.mustAdd(p, a, ptW)
	s = p.Stats()
	h.mustAdd(p, a, ptRW)
	h.mustAdd(p, a, ptW)
	h.wantMask(p, a, ptRW, "after adding Readable|Writable again")
	h.wantCalls(p, s, "Adds that change nothing", [3]uint64{0, 0, 0})
	h.expect(p, ptSoon, "both bits", ptF(a, ptRW))
}

// 3. Del part of the mask: the rest keeps firing; Del the rest: silence.
func ptDelPartOfMask(t *testing.T, h *ptHarness) {
	p := h.p
	a, b := h.socketpair()
	h.write(b, "x") // a is now readable, and writable all along
	h.mustAdd(p, a, ptRW)
	h.expect(p, ptSoon, "registered for both", ptF(a, ptRW))

	s := p.Stats()
	h.mustDel(p, a, ptR)
	h.wantMask(p, a, ptW, "after Del(Readable)")
	h.wantCalls(p, s, "Del of part of the mask", [3]uint64{0, 1, 0})
	h.expect(p, ptSoon, "Readable deleted, Writable kept", ptF(a, ptW))

	h.mustAdd(p, a, ptR)
	s = p.Stats()
	h.mustDel(p, a, ptW)
	h.wantMask(p, a, ptR, "after Del(Writable)")
	h.wantCalls(p, s, "Del of part of the mask", [3]uint64{0, 1, 0})
	h.expect(p, ptSoon, "Writable deleted, Readable kept", ptF(a, ptR))

	s = p.Stats()
	h.mustDel(p, a, ptR)
	h.wantMask(p, a, event.None, "after deleting every bit")
	h.wantCalls(p, s, "Del of the rest", [3]uint64{0, 0, 1})
	h.waitIdle(p, "every bit deleted from a ready fd")

	// Registering again after a full Del is a fresh registration.
	s = p.Stats()
	h.mustAdd(p, a, ptR)
	h.wantCalls(p, s, "Add after a full Del", [3]uint64{1, 0, 0})
	h.expect(p, ptSoon, "registered again", ptF(a, ptR))
}

// 4. Del of what is not registered: no error, no kernel call.
func ptDelUnregistered(t *testing.T, h *ptHarness) {
	p := h.p
	a, b := h.socketpair()
	h.write(b, "x")
	s := p.Stats()
	for _, m := range []event.Mask{ptR, ptW, ptRW, event.Barrier, ptRW | event.Barrier, event.None} {
		if err := p.Del(a, m); err != nil {
			t.Errorf("Del(%d, %v) of an fd never added: %v", a, m, err)
		}
	}
	h.wantMask(p, a, event.None, "after Dels of an fd never added")
	h.wantCalls(p, s, "Del of an fd never added", [3]uint64{0, 0, 0})

	h.mustAdd(p, a, ptR)
	h.mustDel(p, a, ptR)
	s = p.Stats()
	for _, m := range []event.Mask{ptR, ptW, ptRW} {
		if err := p.Del(a, m); err != nil {
			t.Errorf("Del(%d, %v) of an fd already fully deleted: %v", a, m, err)
		}
	}
	h.wantMask(p, a, event.None, "after Dels of an fd fully deleted")
	h.wantCalls(p, s, "Del of an fd fully deleted", [3]uint64{0, 0, 0})

	// Deleting a bit that is not registered leaves the other one alone.
	h.mustAdd(p, a, ptR)
	s = p.Stats()
	h.mustDel(p, a, ptW)
	h.wantMask(p, a, ptR, "after Del(Writable) of an fd registered for Readable")
	h.wantCalls(p, s, "Del of a bit not registered", [3]uint64{0, 0, 0})
	h.expect(p, ptSoon, "Readable untouched", ptF(a, ptR))
}

// ptSentinels are the Poller's distinct errors.
var ptSentinels = []struct {
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
func (h *ptHarness) wantErr(err, want error, why string) {
	h.t.Helper()
	if !errors.Is(err, want) {
		h.t.Errorf("%s: got %v; want an error matching %v", why, err, want)
		return
	}
	for _, s := range ptSentinels {
		if s.err != want && errors.Is(err, s.err) {
			h.t.Errorf("%s: %v matches %s as well as %v; the errors must be distinct", why, err, s.name, want)
		}
	}
}

// 5. Bad input: each kind its own error, nothing changed.
func ptBadInput(t *testing.T, h *ptHarness) {
	p := h.p
	a, b := h.socketpair()
	h.mustAdd(p, a, ptR)
	s := p.Stats()
	n := p.SetSize()
	for _, fd := range []int{-1, -1000, math.MinInt, n, n + 1, math.MaxInt} {
		h.wantErr(p.Add(fd, ptR), mux.ErrRange, fmt.Sprintf("Add(%d, Readable) with set size %d", fd, n))
		h.wantErr(p.Del(fd, ptR), mux.ErrRange, fmt.Sprintf("Del(%d, Readable) with set size %d", fd, n))
		h.wantMask(p, fd, event.None, "Mask of an fd out of range")
	}
	for _, m := range []event.Mask{event.Hangup, event.Error, ptR | event.Hangup, ptW | event.Error,
		event.All, 0x20, ptR | 0x40, 1 << 31} {
		h.wantErr(p.Add(a, m), mux.ErrBadMask, fmt.Sprintf("Add(%d, %v)", a, m))
		h.wantErr(p.Del(a, m), mux.ErrBadMask, fmt.Sprintf("Del(%d, %v)", a, m))
	}
	h.wantMask(p, a, ptR, "after bad Adds and Dels")
	h.wantCalls(p, s, "bad Adds and Dels", [3]uint64{0, 0, 0})

	// A closed fd: the kernel's EBADF, and no entry in the table.
	cr, cw := h.pipe()
	h.close(cw)
	h.close(cr)
	err := p.Add(cr, ptR)
	if !errors.Is(err, unix.EBADF) {
		t.Errorf("Add(%d, Readable) of a closed fd: %v; want an error matching EBADF", cr, err)
	}
	for _, s := range ptSentinels {
		if errors.Is(err, s.err) {
			t.Errorf("Add of a closed fd: %v matches %s", err, s.name)
		}
	}
	h.wantMask(p, cr, event.None, "after Add of a closed fd")

	if _, err := p.Wait(nil, 0); err == nil {
		t.Errorf("Wait with an empty fired slice: no error")
	}

	// The kernel state is unchanged as well: a still fires, alone.
	h.write(b, "x")
	h.expect(p, ptSoon, "after the bad input", ptF(a, ptR))

	// A closed Poller.
	q := h.open(64)
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	fired := make([]event.Fired, 4)
	h.wantErr(q.Add(a, ptR), mux.ErrClosed, "Add on a closed Poller")
	h.wantErr(q.Del(a, ptR), mux.ErrClosed, "Del on a closed Poller")
	_, err = q.Wait(fired, 0)
	h.wantErr(err, mux.ErrClosed, "Wait on a closed Poller")
	h.wantErr(q.Wake(), mux.ErrClosed, "Wake on a closed Poller")
	h.wantErr(q.Resize(128), mux.ErrClosed, "Resize on a closed Poller")
	h.wantMask(q, a, event.None, "Add on a closed Poller")
}

// 6. Regular files and directories: ErrNotPollable on every backend.
func ptNotPollable(t *testing.T, h *ptHarness) {
	p := h.p
	dir := t.TempDir()
	path := dir + "/regular"
	if err := os.WriteFile(path, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"a regular file": path, "a directory": dir}
	for what, name := range files {
		fd, err := unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		h.own(fd)
		s := p.Stats()
		for _, m := range []event.Mask{ptR, ptW, ptRW} {
			h.wantErr(p.Add(fd, m), mux.ErrNotPollable, fmt.Sprintf("Add(%v) of %s", m, what))
			h.wantMask(p, fd, event.None, "after Add of "+what)
		}
		if s2 := p.Stats(); s2.Modifies != s.Modifies || s2.Deregisters != s.Deregisters {
			t.Errorf("refusing %s modified or deregistered something: %+v then %+v", what, s, s2)
		}
		if err := p.Del(fd, ptRW); err != nil {
			t.Errorf("Del of %s that was refused: %v", what, err)
		}
	}
	a, _ := h.socketpair()
	h.mustAdd(p, a, ptR)
	h.waitIdle(p, "after refusing a file and a directory")
}

// 7. An fd closed without Del: no failure, no spin; its number, reused,
// reports only the new interest.
func ptClosedWithoutDel(t *testing.T, h *ptHarness) {
	p := h.p
	rd, wr := h.pipe()
	h.mustAdd(p, rd, ptR)
	h.write(wr, "x") // ready when it is closed: the worst case for a spin
	num := rd
	h.close(rd)
	h.close(wr)

	const calls = 5
	fired := make([]event.Fired, 8)
	s := p.Stats()
	reports := 0
	for i := 0; i < calls; i++ {
		start := time.Now()
		got := h.wait(p, fired, ptIdle)
		el := time.Since(start)
		for _, f := range got {
			if f.Fd != num {
				t.Errorf("Wait %d after the close reported fd %d (%v), which nobody registered", i, f.Fd, f.Mask)
				continue
			}
			reports++
			t.Logf("Wait %d reported the closed fd %d as %v", i, num, f.Mask)
		}
		if len(got) == 0 && el < ptIdle {
			t.Errorf("Wait(%v) %d returned nothing after %v: early", ptIdle, i, el)
		}
	}
	if reports > 1 {
		t.Errorf("the closed fd was reported %d times in %d Waits: at most once, then never again", reports, calls)
	}
	if waits, limit := p.Stats().Waits-s.Waits, calls*ptSpinLimit(ptIdle); waits > limit {
		t.Errorf("%d Waits of %v went to the kernel %d times (more than %d): the closed fd makes Wait spin",
			calls, ptIdle, waits, limit)
	}

	// Take the number back with a socketpair end, readable and writable.
	reused, peer := -1, -1
	var spare []int
	for try := 0; try < 64 && reused < 0; try++ {
		x, y := h.socketpair()
		switch num {
		case x:
			reused, peer = x, y
		case y:
			reused, peer = y, x
		default:
			spare = append(spare, x, y)
		}
	}
	for _, fd := range spare {
		h.close(fd)
	}
	if reused < 0 {
		t.Fatalf("fd number %d did not come back in 64 socketpairs", num)
	}
	h.write(peer, "y")
	if err := p.Add(reused, ptW); err != nil {
		t.Fatalf("Add(%d, Writable) of a new file under a closed fd's number: %v", reused, err)
	}
	h.wantMask(p, reused, ptW, "the new file under the reused number")
	h.expect(p, ptSoon, "the new file is readable and writable, registered for Writable only", ptF(reused, ptW))
	h.mustDel(p, reused, ptW)
	h.waitIdle(p, "the new file deleted")
}

// 8. Resize: grow; shrink below a registered fd (refused, unchanged);
// shrink above it.
func ptResize(t *testing.T, h *ptHarness) {
	a, b := h.socketpair()
	hi := h.moveAbove(a, 300)
	p := h.open(256)
	h.wantErr(p.Add(hi, ptR), mux.ErrRange, fmt.Sprintf("Add(%d) with set size 256", hi))
	if err := p.Resize(1024); err != nil {
		t.Fatalf("Resize(1024) from 256: %v", err)
	}
	if p.SetSize() != 1024 {
		t.Errorf("SetSize() = %d after Resize(1024)", p.SetSize())
	}
	h.mustAdd(p, hi, ptR)
	h.write(b, "x")
	h.expect(p, ptSoon, "fd registered after growing", ptF(hi, ptR))

	for _, n := range []int{hi, hi - 1, 1, 0, -1, math.MinInt} {
		h.wantErr(p.Resize(n), mux.ErrRange, fmt.Sprintf("Resize(%d) with fd %d registered", n, hi))
	}
	if p.SetSize() != 1024 {
		t.Errorf("SetSize() = %d after refused Resizes; want 1024 unchanged", p.SetSize())
	}
	h.wantMask(p, hi, ptR, "after refused Resizes")
	h.expect(p, ptSoon, "after refused Resizes", ptF(hi, ptR))

	if err := p.Resize(hi + 1); err != nil {
		t.Fatalf("Resize(%d) with fd %d registered: %v", hi+1, hi, err)
	}
	if p.SetSize() != hi+1 {
		t.Errorf("SetSize() = %d after Resize(%d)", p.SetSize(), hi+1)
	}
	h.wantMask(p, hi, ptR, "after shrinking above the fd")
	h.expect(p, ptSoon, "after shrinking above the fd", ptF(hi, ptR))
	h.wantErr(p.Add(hi+1, ptR), mux.ErrRange, "Add at the new set size")

	if err := p.Resize(4 * hi); err != nil {
		t.Fatalf("Resize(%d): %v", 4*hi, err)
	}
	h.wantMask(p, hi, ptR, "after growing again")
	h.expect(p, ptSoon, "after growing again", ptF(hi, ptR))

	h.mustDel(p, hi, ptR)
	if err := p.Resize(hi); err != nil {
		t.Errorf("Resize(%d) once fd %d is deleted: %v", hi, hi, err)
	}
	h.wantErr(p.Add(hi, ptR), mux.ErrRange, "Add at the shrunk set size")
	h.waitIdle(p, "nothing registered after the shrink")
}

// 9. 10,000 registered fds, numbered well above 1024, and random writers
// on several goroutines: every event reaches the right fd, none is lost,
// none is invented.
func ptManyFds(t *testing.T, h *ptHarness) {
	const want = 10000
	limit := ptRaiseNofile()
	inUse := len(ptOpenFds(t))
	n := want
	if room := int(limit) - inUse - 256; room < n {
		n = room &^ 1
	}
	if n < 2048 {
		t.Skipf("RLIMIT_NOFILE allows %d fds and %d are open: room for %d, the scenario needs 2,048 or more", limit, inUse, n)
	}
	if n < want {
		t.Logf("RLIMIT_NOFILE allows %d fds: registering %d instead of %d", limit, n, want)
	}

	// n/2 socketpairs, both ends registered: a byte written to one end
	// makes exactly its peer readable.
	ends := make([]int, 0, n)
	for len(ends) < n {
		a, b := h.socketpair()
		ends = append(ends, a, b)
	}
	maxfd := slices.Max(ends)
	peer := make([]int, maxfd+1)
	for i := 0; i < len(ends); i += 2 {
		peer[ends[i]], peer[ends[i+1]] = ends[i+1], ends[i]
	}
	if maxfd <= 1024 {
		t.Fatalf("%d fds, the highest numbered %d: none above 1024", n, maxfd)
	}
	p := h.open(maxfd + 1)
	s := p.Stats()
	for _, fd := range ends {
		h.mustAdd(p, fd, ptR)
	}
	h.wantCalls(p, s, fmt.Sprintf("registering %d fds", n), [3]uint64{uint64(n), 0, 0})
	h.waitIdle(p, fmt.Sprintf("%d idle fds", n))

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	t.Logf("%d fds, highest %d, rng seed %d", n, maxfd, seed)

	const (
		rounds  = 20
		perRnd  = 300
		writers = 4
	)
	expected := make([]int32, maxfd+1) // round that made the fd readable
	done := make([]int32, maxfd+1)     // round in which it was reported
	fired := make([]event.Fired, 64)
	start := time.Now()
	high, problems := 0, 0
	problem := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
		if problems++; problems >= 10 {
			t.Fatalf("stopping after %d problems", problems)
		}
	}
	for round := int32(1); round <= rounds; round++ {
		if time.Since(start) > 5*time.Second {
			t.Logf("stopped after %d rounds: time budget spent", round-1)
			break
		}
		picks := rng.Perm(len(ends))[:perRnd]
		if round == 1 { // the highest number, for sure once
			picks[0] = slices.Index(ends, peer[maxfd])
			slices.Sort(picks)
			picks = slices.Compact(picks)
		}
		for _, i := range picks {
			expected[peer[ends[i]]] = round
		}
		var wg sync.WaitGroup
		errc := make(chan error, writers)
		for g := 0; g < writers; g++ {
			wg.Add(1)
			go func(mine []int) {
				defer wg.Done()
				for _, i := range mine {
					if _, err := unix.Write(ends[i], []byte{1}); err != nil {
						errc <- fmt.Errorf("write to fd %d: %w", ends[i], err)
						return
					}
				}
			}(picks[g*len(picks)/writers : (g+1)*len(picks)/writers])
		}
		remaining := len(picks)
		deadline := time.Now().Add(3 * time.Second)
		for remaining > 0 && time.Now().Before(deadline) {
			for _, f := range h.wait(p, fired, 50*time.Millisecond) {
				fd := f.Fd
				switch {
				case fd < 0 || fd > maxfd || expected[fd] != round:
					problem("round %d: fd %d reported (%v) but nobody wrote to its peer: invented", round, fd, f.Mask)
					ptDrain(fd)
					continue
				case done[fd] == round:
					problem("round %d: fd %d reported again after it was drained", round, fd)
					continue
				case f.Mask != ptR:
					problem("round %d: fd %d reported as %v; want Readable", round, fd, f.Mask)
				}
				var buf [8]byte
				nr, err := unix.Read(fd, buf[:])
				if nr != 1 {
					problem("round %d: fd %d reported Readable, read gave %d, %v; want the 1 byte its peer wrote", round, fd, nr, err)
				}
				done[fd] = round
				remaining--
				if fd > 1024 {
					high++
				}
			}
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatalf("round %d: %v", round, err)
		}
		if remaining > 0 {
			var lost []int
			for _, i := range picks {
				if fd := peer[ends[i]]; done[fd] != round {
					lost = append(lost, fd)
				}
			}
			t.Fatalf("round %d: %d of %d events never reported within 3s (fds %v...): lost", round, remaining, len(picks), lost[:min(len(lost), 10)])
		}
		if got := h.wait(p, fired, 0); len(got) > 0 {
			problem("round %d: every write was reported and drained, yet Wait reported %s", round, ptFormat(got))
		}
	}
	if high == 0 {
		t.Errorf("no fd above 1024 was reported")
	}
	t.Logf("%d events above fd 1024 delivered in %v", high, time.Since(start).Round(time.Millisecond))
}

// 10. A fresh socketpair reports nothing; after one write the peer is
// Readable, exactly once per Wait, with the right fd.
func ptFreshSocketpair(t *testing.T, h *ptHarness) {
	p := h.p
	a, b := h.socketpair()
	h.mustAdd(p, a, ptR)
	h.mustAdd(p, b, ptR)
	h.waitIdle(p, "a fresh socketpair")
	h.write(a, "x")
	for i := 1; i <= 3; i++ {
		h.expect(p, ptSoon, fmt.Sprintf("Wait %d after one write to fd %d", i, a), ptF(b, ptR))
	}
}

// 11. Level-triggered: a partial read keeps the fd Readable; a full drain
// clears it.
func ptLevelPartialRead(t *testing.T, h *ptHarness) {
	p := h.p
	a, b := h.socketpair()
	h.mustAdd(p, b, ptR)
	h.write(a, "0123456789")
	h.expect(p, ptSoon, "10 bytes queued", ptF(b, ptR))
	var buf [3]byte
	if n, err := unix.Read(b, buf[:]); n != 3 || err != nil {
		t.Fatalf("read 3 of 10 bytes: %d, %v", n, err)
	}
	h.expect(p, ptSoon, "7 bytes still queued after a partial read", ptF(b, ptR))
	if n, err := ptDrain(b); n != 7 || err != unix.EAGAIN {
		t.Fatalf("drain: %d bytes, %v; want 7, EAGAIN", n, err)
	}
	h.waitIdle(p, "after a full drain")
}

// 12. A connected socket is Writable at once; filled to EAGAIN it is
// not, until the peer drains.
func ptWritableUntilFull(t *testing.T, h *ptHarness) {
	p := h.p
	for _, kind := range []string{"AF_UNIX socketpair", "TCP over 127.0.0.1"} {
		var a, b int
		if kind == "AF_UNIX socketpair" {
			a, b = h.socketpair()
		} else {
			a, b = h.tcpPair()
		}
		h.mustAdd(p, a, ptW)
		h.expect(p, 0, kind+": connected, Wait(0)", ptF(a, ptW))
		total := h.fill(a)
		if kind == "AF_UNIX socketpair" {
			h.waitIdle(p, kind+": filled to EAGAIN")
		} else {
			// TCP moves data from the send to the peer's receive buffer
			// behind our back: fill again until both are full.
			quiet := false
			fired := make([]event.Fired, 4)
			for try := 0; try < 50 && !quiet; try++ {
				quiet = len(h.wait(p, fired, ptIdle)) == 0
				if !quiet {
					total += h.fill(a)
				}
			}
			if !quiet {
				t.Errorf("%s: still Writable after filling it to EAGAIN 50 times (%d bytes)", kind, total)
			}
		}
		deadline := time.Now().Add(ptSoon)
		got := event.None
		fired := make([]event.Fired, 4)
		for got == event.None && time.Now().Before(deadline) {
			if _, err := ptDrain(b); err != unix.EAGAIN {
				t.Fatalf("%s: drain the peer: %v", kind, err)
			}
			for _, f := range h.wait(p, fired, 10*time.Millisecond) {
				if f.Fd == a {
					got = f.Mask
				}
			}
		}
		if got != ptW {
			t.Errorf("%s: after the peer drained %d bytes, fd %d reported %v; want Writable", kind, total, a, got)
		}
		h.mustDel(p, a, ptW)
		t.Logf("%s: Writable again after the peer drained %d bytes", kind, total)
	}
}

// 13. Readable and Writable together: one entry with both bits, whether
// registered in one Add or two.
func ptReadWriteTogether(t *testing.T, h *ptHarness) {
	p := h.p
	a, b := h.socketpair()
	c, d := h.socketpair()
	h.write(b, "x")
	h.write(d, "x")
	h.mustAdd(p, a, ptRW)
	h.expect(p, ptSoon, "registered in one Add", ptF(a, ptRW))
	h.mustAdd(p, c, ptR)
	h.mustAdd(p, c, ptW)
	h.expect(p, ptSoon, "one fd registered in one Add, one in two", ptF(a, ptRW), ptF(c, ptRW))
}

// 14. The peer closes: Readable plus, where Caps says so, the Hangup
// hint; read returns 0, or the reset error after an RST.
func ptPeerCloses(t *testing.T, h *ptHarness) {
	p := h.p
	caps := p.Caps()
	t.Logf("Caps: Hangup %v, HalfClose %v, Error %v", caps.Hangup, caps.HalfClose, caps.Error)
	check := func(what string, fd int, hangup, reset bool, capName string) {
		t.Helper()
		m := h.waitFor(p, fd, ptSoon, what)
		t.Logf("%s: %v", what, m)
		if m&ptR == 0 {
			t.Errorf("%s: reported %v; want Readable", what, m)
		}
		if hangup && m&event.Hangup == 0 {
			t.Errorf("%s: reported %v without Hangup, but Caps().%s is true", what, m, capName)
		}
		var buf [16]byte
		n, err := unix.Read(fd, buf[:])
		switch {
		case n == 0 && err == nil:
		case reset && err == unix.ECONNRESET:
		case reset:
			t.Errorf("%s: read gave %d, %v; want 0 (end of file) or ECONNRESET", what, n, err)
		default:
			t.Errorf("%s: read gave %d, %v; want 0 (end of file)", what, n, err)
		}
		h.mustDel(p, fd, ptR)
	}

	rd, wr := h.pipe()
	h.mustAdd(p, rd, ptR)
	h.close(wr)
	check("pipe writer closed", rd, caps.Hangup, false, "Hangup")

	a, b := h.socketpair()
	h.mustAdd(p, a, ptR)
	h.close(b)
	check("AF_UNIX peer closed", a, caps.Hangup, false, "Hangup")

	a, b = h.socketpair()
	h.mustAdd(p, a, ptR)
	if err := unix.Shutdown(b, unix.SHUT_WR); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	check("AF_UNIX peer shutdown(SHUT_WR)", a, caps.HalfClose, false, "HalfClose")

	c, s := h.tcpPair()
	h.mustAdd(p, c, ptR)
	if err := unix.Shutdown(s, unix.SHUT_WR); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	check("TCP peer shutdown(SHUT_WR)", c, caps.HalfClose, false, "HalfClose")

	// A TCP peer's close looks like shutdown(SHUT_WR) from this side: a FIN.
	c, s = h.tcpPair()
	h.mustAdd(p, c, ptR)
	h.close(s)
	check("TCP peer closed", c, caps.HalfClose, false, "HalfClose")

	c, s = h.tcpPair()
	if err := unix.SetsockoptLinger(s, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		t.Fatalf("SO_LINGER: %v", err)
	}
	h.mustAdd(p, c, ptR)
	h.close(s) // with a zero linger time: RST
	check("TCP peer reset (RST)", c, caps.HalfClose, true, "HalfClose")
}

// 15. A listener is Readable while a connection is pending; accepting to
// EAGAIN clears it.
func ptListener(t *testing.T, h *ptHarness) {
	p := h.p
	l, sa := h.listener()
	h.mustAdd(p, l, ptR)
	h.waitIdle(p, "a listener with no pending connection")
	for i := 0; i < 2; i++ {
		if _, err := h.dial(sa); err != nil && err != unix.EINPROGRESS {
			t.Fatalf("connect to 127.0.0.1:%d: %v", sa.Port, err)
		}
	}
	if m := h.waitFor(p, l, ptSoon, "connections pending"); m != ptR {
		t.Errorf("listener with pending connections reported %v; want Readable", m)
	}
	h.accept(l)
	h.accept(l)
	if fd, _, err := unix.Accept(l); err != unix.EAGAIN {
		if err == nil {
			unix.Close(fd)
		}
		t.Fatalf("a third accept: %v; want EAGAIN", err)
	}
	h.waitIdle(p, "after accepting to EAGAIN")
}

// 16. A non-blocking connect to a closed loopback port: Writable (plus
// Error where Caps says so), and SO_ERROR is ECONNREFUSED.
func ptConnectRefused(t *testing.T, h *ptHarness) {
	p := h.p
	// A port bound but never listened on refuses connections, and nobody
	// else can take it meanwhile.
	_, sa := h.bound(unix.SOCK_STREAM)
	s, err := h.dial(sa)
	switch err {
	case unix.EINPROGRESS:
	case unix.ECONNREFUSED:
		t.Skipf("connect(2) to 127.0.0.1:%d was refused at once: no readiness to observe on this OS", sa.Port)
	case nil:
		t.Fatalf("connect to 127.0.0.1:%d, which nobody listens on, succeeded", sa.Port)
	default:
		t.Fatalf("connect to 127.0.0.1:%d: %v", sa.Port, err)
	}
	h.mustAdd(p, s, ptW)
	m := h.waitFor(p, s, ptSoon, "a refused connect")
	t.Logf("refused connect reported as %v", m)
	if m&ptW == 0 {
		t.Errorf("refused connect reported as %v; want Writable", m)
	}
	if p.Caps().Error && m&event.Error == 0 {
		t.Errorf("refused connect reported as %v without Error, but Caps().Error is true", m)
	}
	if e, err := unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || unix.Errno(e) != unix.ECONNREFUSED {
		t.Errorf("SO_ERROR = %v, %v; want ECONNREFUSED", unix.Errno(e), err)
	}
}

// 17. UDP: Readable while datagrams are queued, cleared when drained.
func ptUDP(t *testing.T, h *ptHarness) {
	p := h.p
	rcv, sa := h.bound(unix.SOCK_DGRAM)
	snd, _ := h.bound(unix.SOCK_DGRAM)
	h.mustAdd(p, rcv, ptR)
	h.waitIdle(p, "an idle UDP socket")
	const n = 3
	for i := 0; i < n; i++ {
		if err := unix.Sendto(snd, []byte{byte('a' + i)}, 0, sa); err != nil {
			t.Fatalf("sendto: %v", err)
		}
	}
	var buf [8]byte
	for i := 0; i < n; i++ {
		if m := h.waitFor(p, rcv, ptSoon, fmt.Sprintf("%d datagrams queued", n-i)); m != ptR {
			t.Errorf("%d datagrams queued: reported %v; want Readable", n-i, m)
		}
		k, _, err := unix.Recvfrom(rcv, buf[:], 0)
		if err != nil || k != 1 {
			t.Fatalf("recvfrom datagram %d: %d, %v", i, k, err)
		}
	}
	if _, _, err := unix.Recvfrom(rcv, buf[:], 0); err != unix.EAGAIN {
		t.Fatalf("recvfrom after %d datagrams: %v; want EAGAIN", n, err)
	}
	h.waitIdle(p, "every datagram read")
}

// 18. More ready fds than fired holds: later Waits deliver the rest; no
// fd starves.
func ptMoreReadyThanFired(t *testing.T, h *ptHarness) {
	p := h.p
	const n = 10
	ours := map[int]bool{}
	for i := 0; i < n; i++ {
		a, b := h.socketpair()
		h.write(b, "x")
		h.mustAdd(p, a, ptR)
		ours[a] = true
	}
	fired := make([]event.Fired, 3)
	limit := 4 * ((n + len(fired) - 1) / len(fired))
	seen := map[int]int{}
	waits := 0
	for ; waits < limit && len(seen) < n; waits++ {
		got := h.wait(p, fired, ptSoon)
		if len(got) == 0 {
			t.Fatalf("Wait %d returned nothing although %d fds are ready", waits, n)
		}
		for _, f := range got {
			if !ours[f.Fd] || f.Mask != ptR {
				t.Errorf("Wait %d reported fd %d as %v; want one of the ready fds, Readable", waits, f.Fd, f.Mask)
			}
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
		t.Errorf("%d Waits of %d entries, %d ready fds: fds %v never reported (starved)", waits, len(fired), n, starved)
	}
	t.Logf("all %d ready fds reported within %d Waits of %d entries", len(seen), waits, len(fired))
}

// ptModePoller opens a Poller in mode m when Caps says the backend has it,
// and returns it and the Caps bit. When Caps says it has not, it checks that
// the backend says so (Open fails with errors.ErrUnsupported) and returns
// nil.
func ptModePoller(t *testing.T, h *ptHarness, m mux.Mode, has func(mux.Caps) bool) *mux.Poller {
	t.Helper()
	mp, err := h.openMode(ptSetSize, m)
	switch {
	case has(h.p.Caps()) && err != nil:
		t.Fatalf("Caps() reports the %v mode, but Open(WithMode(%v)): %v", m, m, err)
	case has(h.p.Caps()):
		if !has(mp.Caps()) {
			t.Errorf("a %v Poller's Caps() does not report the %v mode", m, m)
		}
		return mp
	case err == nil:
		t.Errorf("Caps() of %s reports no %v mode, yet Open(WithMode(%v)) succeeded", h.p.Name(), m, m)
	case !errors.Is(err, errors.ErrUnsupported):
		t.Errorf("Open(WithMode(%v)) on %s: %v; want an error matching errors.ErrUnsupported", m, h.p.Name(), err)
	default:
		t.Logf("%s has no %v mode and says so: %v", h.p.Name(), m, err)
	}
	return nil
}

// 19. Edge: one report per arrival; a partial read does not re-report
// until new data arrives.
func ptEdge(t *testing.T, h *ptHarness) {
	ep := ptModePoller(t, h, mux.Edge, func(c mux.Caps) bool { return c.Edge })
	if ep == nil {
		return
	}
	a, b := h.socketpair()
	h.mustAdd(ep, b, ptR)
	h.write(a, "0123456789")
	h.expect(ep, ptSoon, "the first arrival", ptF(b, ptR))
	h.waitIdle(ep, "no new data since the report")
	var buf [3]byte
	if n, err := unix.Read(b, buf[:]); n != 3 || err != nil {
		t.Fatalf("partial read: %d, %v", n, err)
	}
	h.waitIdle(ep, "after a partial read, no new data")
	h.write(a, "x")
	h.expect(ep, ptSoon, "a new arrival", ptF(b, ptR))
	h.waitIdle(ep, "no new data since the second report")
	if n, err := ptDrain(b); n != 8 || err != unix.EAGAIN {
		t.Errorf("drain: %d, %v; want 8 bytes, EAGAIN", n, err)
	}

	// Writable: reported once when registered, not again while it stays so.
	c, _ := h.socketpair()
	h.mustAdd(ep, c, ptW)
	h.expect(ep, ptSoon, "an idle socket registered for Writable", ptF(c, ptW))
	h.waitIdle(ep, "still writable, nothing changed")
}

// 20. Oneshot: one report, then silence; re-arming with data still
// queued reports at once.
func ptOneshot(t *testing.T, h *ptHarness) {
	op := ptModePoller(t, h, mux.Oneshot, func(c mux.Caps) bool { return c.Oneshot })
	if op == nil {
		return
	}
	t.Logf("Oneshot emulated by the Poller: %v", op.Caps().OneshotEmulated)
	a, b := h.socketpair()
	h.mustAdd(op, b, ptR)
	h.write(a, "x")
	h.expect(op, ptSoon, "armed, data arrives", ptF(b, ptR))
	h.waitIdle(op, "reported once, data still queued")
	h.write(a, "y")
	h.waitIdle(op, "new data does not re-arm")
	h.wantMask(op, b, ptR, "a disarmed fd keeps its mask")

	s := op.Stats()
	h.mustAdd(op, b, ptR)
	h.wantCalls(op, s, "re-arming Add with the same mask", [3]uint64{0, 1, 0})
	h.expect(op, 0, "re-armed with data queued, Wait(0)", ptF(b, ptR))
	h.waitIdle(op, "reported once after the re-arm")

	c, d := h.socketpair()
	h.write(d, "x")
	h.mustAdd(op, c, ptRW)
	h.expect(op, ptSoon, "readable and writable, one shot", ptF(c, ptRW))
	h.waitIdle(op, "both bits disarmed")
}

// 21. Timeout 0 never blocks and still returns ready fds.
func ptTimeoutZero(t *testing.T, h *ptHarness) {
	p := h.p
	a, b := h.socketpair()
	c, _ := h.socketpair()
	h.mustAdd(p, a, ptR)
	h.mustAdd(p, c, ptR)
	fired := make([]event.Fired, 8)
	const calls = 100
	took := make([]time.Duration, calls)
	for i := range took {
		start := time.Now()
		got := h.wait(p, fired, 0)
		took[i] = time.Since(start)
		if len(got) > 0 {
			t.Fatalf("Wait(0) on idle fds reported %s", ptFormat(got))
		}
	}
	med, p99, worst := ptPercentiles(took)
	t.Logf("Wait(0) with nothing ready: median %v, p99 %v, max %v", med, p99, worst)
	if med > 10*time.Millisecond || worst > 500*time.Millisecond {
		t.Errorf("Wait(0) blocks: median %v, max %v", med, worst)
	}
	h.write(b, "x")
	start := time.Now()
	h.expect(p, 0, "Wait(0) with a ready fd", ptF(a, ptR))
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Errorf("Wait(0) with a ready fd took %v", el)
	}
}

// 22. A timed Wait never returns early; the overshoot is logged.
func ptTimedWaitNeverEarly(t *testing.T, h *ptHarness) {
	p := h.p
	a, _ := h.socketpair()
	h.mustAdd(p, a, ptR)
	fired := make([]event.Fired, 8)
	for _, c := range []struct {
		d    time.Duration
		runs int
	}{{100 * time.Microsecond, 50}, {3100 * time.Microsecond, 5}, {50 * time.Millisecond, 3}} {
		over := make([]time.Duration, c.runs)
		early := 0
		for i := range over {
			start := time.Now()
			got := h.wait(p, fired, c.d)
			el := time.Since(start)
			if len(got) > 0 {
				t.Fatalf("Wait(%v) with nothing ready reported %s", c.d, ptFormat(got))
			}
			if el < c.d {
				early++
				if early <= 3 {
					t.Errorf("Wait(%v) returned after %v: early", c.d, el)
				}
			}
			over[i] = el - c.d
		}
		if early > 3 {
			t.Errorf("Wait(%v) returned early %d times of %d", c.d, early, c.runs)
		}
		med, p99, worst := ptPercentiles(over)
		t.Logf("%s Wait(%v) x%d: overshoot median %v, p99 %v, max %v (resolution %v)",
			p.Name(), c.d, c.runs, med, p99, worst, p.Caps().Resolution)
		if med > 20*time.Millisecond {
			t.Errorf("Wait(%v): median overshoot %v, more than 20ms", c.d, med)
		}
	}
}

// 23. A Wake before Wait: the next Wait returns at once with no fd
// entries; many Wakes before one Wait collapse into one return.
func ptWakeBeforeWait(t *testing.T, h *ptHarness) {
	p := h.p
	a, _ := h.socketpair()
	h.mustAdd(p, a, ptR)
	fired := make([]event.Fired, 8)
	woken := func(why string) {
		t.Helper()
		start := time.Now()
		got := h.wait(p, fired, ptSoon)
		el := time.Since(start)
		if len(got) > 0 {
			t.Errorf("%s: Wait reported %s; want no entry", why, ptFormat(got))
		}
		if el >= time.Second {
			t.Fatalf("%s: Wait(%v) took %v: the Wake was lost", why, ptSoon, el)
		}
	}
	if err := p.Wake(); err != nil {
		t.Fatalf("Wake: %v", err)
	}
	woken("one Wake before Wait")
	h.waitIdle(p, "the Wake was consumed")
	for i := 0; i < 100; i++ {
		if err := p.Wake(); err != nil {
			t.Fatalf("Wake %d: %v", i, err)
		}
	}
	woken("100 Wakes before Wait")
	h.waitIdle(p, "100 Wakes collapse into one return")
}

// 24. Wake from 64 goroutines while Wait blocks, round after round: every
// round returns, no deadlock, clean under -race.
func ptWakeStorm(t *testing.T, h *ptHarness) {
	p := h.p
	a, _ := h.socketpair()
	h.mustAdd(p, a, ptR)
	const (
		goroutines = 64
		rounds     = 100
	)
	fired := make([]event.Fired, 8)
	start := time.Now()
	done := 0
	for ; done < rounds && time.Since(start) < 4*time.Second; done++ {
		var wg sync.WaitGroup
		var failed atomic.Value
		release := make(chan struct{})
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-release
				if g%8 == 0 && done%2 == 1 {
					time.Sleep(100 * time.Microsecond) // some land while Wait blocks
				}
				if err := p.Wake(); err != nil {
					failed.Store(err)
				}
			}()
		}
		close(release)
		t0 := time.Now()
		n, err := p.Wait(fired, ptSoon)
		el := time.Since(t0)
		wg.Wait()
		if err != nil {
			t.Fatalf("round %d: Wait: %v", done, err)
		}
		h.check(p, fired, n)
		if n != 0 {
			t.Errorf("round %d: Wait reported %s; want no entry", done, ptFormat(fired[:n]))
		}
		if el >= ptSoon {
			t.Fatalf("round %d: Wait(%v) did not return although %d goroutines called Wake", done, ptSoon, goroutines)
		}
		if err, _ := failed.Load().(error); err != nil {
			t.Fatalf("round %d: Wake: %v", done, err)
		}
	}
	t.Logf("%d rounds of %d concurrent Wakes in %v", done, goroutines, time.Since(start).Round(time.Millisecond))
}

// 25. Signals hitting the waiting thread (EINTR): no error, no lost
// event, no early return, no extended deadline.
func ptSignals(t *testing.T, h *ptHarness) {
	p := h.p
	a, b := h.socketpair()
	h.mustAdd(p, a, ptR)

	stopStorm := signalStorm(200 * time.Microsecond)
	stormed := false
	defer func() {
		if !stormed {
			stopStorm()
		}
	}()

	const timeout, calls = 50 * time.Millisecond, 5
	fired := make([]event.Fired, 8)
	s := p.Stats()
	for i := 0; i < calls; i++ {
		start := time.Now()
		got := h.wait(p, fired, timeout)
		el := time.Since(start)
		if len(got) > 0 {
			t.Errorf("Wait(%v) under signals reported %s; nothing is ready", timeout, ptFormat(got))
		}
		if el < timeout {
			t.Errorf("Wait(%v) under signals returned after %v: early", timeout, el)
		}
		if el > timeout+250*time.Millisecond {
			t.Errorf("Wait(%v) under signals returned after %v: the deadline was extended", timeout, el)
		}
	}
	waits := p.Stats().Waits - s.Waits
	if ptSignalsHit && waits <= calls {
		t.Errorf("no Wait was interrupted (%d kernel waits for %d Waits): the signals missed the waiting thread, nothing was tested", waits, calls)
	}

	// An fd that becomes ready during the storm is reported.
	for i := 0; i < 3; i++ {
		werr := make(chan error, 1)
		go func() {
			time.Sleep(20 * time.Millisecond)
			_, err := unix.Write(b, []byte{'x'})
			werr <- err
		}()
		start := time.Now()
		got := h.wait(p, fired, ptSoon)
		el := time.Since(start)
		if err := <-werr; err != nil {
			t.Fatalf("write: %v", err)
		}
		if !ptSameEntries(got, []event.Fired{ptF(a, ptR)}) {
			t.Errorf("Wait under signals, fd %d written after 20ms: reported %s after %v; want fd %d Readable",
				a, ptFormat(got), el, a)
		}
		if n, err := ptDrain(a); n != 1 || err != unix.EAGAIN {
			t.Fatalf("drain: %d, %v", n, err)
		}
	}
	stormed = true
	sent := stopStorm()
	t.Logf("%d signals sent; %d Waits of %v went to the kernel %d times", sent, calls, timeout, waits)
	if sent == 0 {
		t.Fatalf("no SIGUSR1 could be sent: nothing was tested")
	}
}

// 26. Close from another goroutine unblocks Wait, which returns
// ErrClosed; double Close and use after Close return errors.
func ptCloseUnblocksWait(t *testing.T, h *ptHarness) {
	a, _ := h.socketpair()
	var q *mux.Poller
	for i := 0; i < 20; i++ {
		q = h.open(ptSetSize)
		h.mustAdd(q, a, ptR)
		res := make(chan error, 1)
		started := make(chan struct{})
		go func(q *mux.Poller) {
			close(started)
			_, err := q.Wait(make([]event.Fired, 4), -1)
			res <- err
		}(q)
		<-started
		time.Sleep(time.Duration(i%5) * 250 * time.Microsecond) // 0: Close races with Wait's start
		if err := q.Close(); err != nil {
			t.Errorf("Close %d while Wait runs: %v", i, err)
		}
		select {
		case err := <-res:
			h.wantErr(err, mux.ErrClosed, fmt.Sprintf("Wait(-1) ended by Close %d", i))
		case <-time.After(ptSoon):
			t.Fatalf("Close %d did not unblock a Wait(-1) within %v", i, ptSoon)
		}
	}

	fired := make([]event.Fired, 4)
	h.wantErr(q.Close(), mux.ErrClosed, "second Close")
	h.wantErr(q.Add(a, ptW), mux.ErrClosed, "Add after Close")
	h.wantErr(q.Del(a, ptR), mux.ErrClosed, "Del after Close")
	start := time.Now()
	_, err := q.Wait(fired, ptSoon)
	h.wantErr(err, mux.ErrClosed, "Wait after Close")
	if el := time.Since(start); el > time.Second {
		t.Errorf("Wait(%v) after Close took %v", ptSoon, el)
	}
	h.wantErr(q.Wake(), mux.ErrClosed, "Wake after Close")
	h.wantErr(q.Resize(64), mux.ErrClosed, "Resize after Close")
	if fd := q.Fd(); fd != -1 {
		t.Errorf("Fd() after Close = %d; want -1", fd)
	}
	_, _, _, _ = q.Mask(a), q.SetSize(), q.Name(), q.Caps()

	// Closes from many goroutines at once: exactly one succeeds.
	q = h.open(64)
	var wg sync.WaitGroup
	var ok, closed atomic.Int32
	var other atomic.Value
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := q.Close(); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, mux.ErrClosed):
				closed.Add(1)
			default:
				other.Store(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || closed.Load() != 7 {
		t.Errorf("8 concurrent Closes: %d succeeded, %d returned ErrClosed (other: %v); want 1 and 7", ok.Load(), closed.Load(), other.Load())
	}
}

// 27. The Poller's own fds are close-on-exec; after Close the process has
// the fds it had before.
func ptCloexecNoLeak(t *testing.T, h *ptHarness) {
	a, _ := h.socketpair()
	ptOpenFds(t) // once first: the runtime may open its own poller for it
	before := ptOpenFds(t)
	q, err := h.openFn(64)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	h.track(q)
	h.mustAdd(q, a, ptW)
	h.wait(q, make([]event.Fired, 4), 0)
	if err := q.Wake(); err != nil {
		t.Fatalf("Wake: %v", err)
	}
	h.wait(q, make([]event.Fired, 4), 0)
	h.mustDel(q, a, ptW)
	during := ptOpenFds(t)
	added := ptMinus(during, before)
	t.Logf("a %s Poller holds %d fds: %v", q.Name(), len(added), added)
	if gone := ptMinus(before, during); len(gone) > 0 {
		t.Errorf("opening a Poller closed fds %v", gone)
	}
	if q.Caps().Pollable && !slices.Contains(added, q.Fd()) {
		t.Errorf("Fd() = %d is not among the fds the Poller opened (%v)", q.Fd(), added)
	}
	for _, fd := range added {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("fd %d of the Poller is not close-on-exec (flags %#x, %v)", fd, flags, err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if after := ptOpenFds(t); !slices.Equal(after, before) {
		t.Errorf("after Close: fds %v are still open, %v are gone", ptMinus(after, before), ptMinus(before, after))
	}

	// Closed while a Wait runs: the last one out releases the fds.
	for i := 0; i < 3; i++ {
		q = h.open(64)
		res := make(chan error, 1)
		go func(q *mux.Poller) {
			_, err := q.Wait(make([]event.Fired, 4), -1)
			res <- err
		}(q)
		time.Sleep(2 * time.Millisecond)
		if err := q.Close(); err != nil {
			t.Errorf("Close while Wait runs: %v", err)
		}
		select {
		case <-res:
		case <-time.After(ptSoon):
			t.Fatalf("Close did not unblock Wait within %v", ptSoon)
		}
		if after := ptOpenFds(t); !slices.Equal(after, before) {
			t.Errorf("Close during Wait, then Wait returned: fds %v are still open, %v are gone",
				ptMinus(after, before), ptMinus(before, after))
		}
	}
}

// ptMinus returns the members of a that are not in b (both sorted).
func ptMinus(a, b []int) []int {
	var out []int
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

// 28. Wait allocates nothing.
func ptWaitAllocs(t *testing.T, h *ptHarness) {
	p := h.p
	a, b := h.socketpair()
	h.write(b, "x")
	h.mustAdd(p, a, ptR)
	fired := make([]event.Fired, 8)
	bad, badN := false, 0
	var badErr error
	allocs := testing.AllocsPerRun(200, func() {
		if n, err := p.Wait(fired, time.Second); n != 1 || err != nil {
			bad, badN, badErr = true, n, err
		}
	})
	if bad {
		t.Fatalf("Wait with one ready fd gave %d, %v; want 1, nil", badN, badErr)
	}
	if allocs != 0 {
		t.Errorf("Wait with a ready fd: %v allocations per call; want 0", allocs)
	}
	h.mustDel(p, a, ptR)
	allocs = testing.AllocsPerRun(50, func() {
		if err := p.Wake(); err != nil {
			badErr = err
		}
		if _, err := p.Wait(fired, 0); err != nil {
			badErr = err
		}
		if _, err := p.Wait(fired, 10*time.Microsecond); err != nil {
			badErr = err
		}
	})
	if badErr != nil {
		t.Fatalf("Wake and Wait: %v", badErr)
	}
	if allocs != 0 {
		t.Errorf("Wake, Wait(0) and a timed Wait: %v allocations per round; want 0", allocs)
	}
}

// 29. A Poller's own fd, watched by another Poller, is Readable when the
// inner one has an event.
func ptPollerFdWatchable(t *testing.T, h *ptHarness) {
	inner := h.p
	ifd := inner.Fd()
	if !inner.Caps().Pollable {
		if ifd != -1 {
			t.Errorf("Caps().Pollable is false but Fd() = %d; want -1", ifd)
		}
		t.Logf("%s has no pollable fd (Fd() = -1), and says so", inner.Name())
		return
	}
	if ifd < 0 {
		t.Fatalf("Caps().Pollable is true but Fd() = %d", ifd)
	}
	if inner.Fd() != ifd {
		t.Errorf("Fd() changed between calls: %d, then %d", ifd, inner.Fd())
	}
	outer := h.open(ptSetSize)
	h.mustAdd(outer, ifd, ptR)
	h.waitIdle(outer, "the inner Poller has nothing to report")
	a, b := h.socketpair()
	h.mustAdd(inner, a, ptR)
	h.waitIdle(outer, "the inner Poller has an idle fd")
	h.write(b, "x")
	h.expect(outer, ptSoon, "the inner Poller has an event", ptF(ifd, ptR))
	h.expect(inner, 0, "the inner Poller's own Wait", ptF(a, ptR))
	if n, err := ptDrain(a); n != 1 || err != unix.EAGAIN {
		t.Fatalf("drain: %d, %v", n, err)
	}
	h.waitIdle(outer, "the inner Poller's event was consumed")
}
