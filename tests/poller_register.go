package tests

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

// Add Readable then Writable: one register (EPOLL_CTL_ADD), then one
// modify (EPOLL_CTL_MOD), and the kernel watches both.
func pollerAddReadThenWrite(t *testing.T, h *harness) {
	p := h.p
	a, b := h.socketpair()
	s := p.Stats()
	h.mustAdd(p, a, evR)
	h.wantMask(p, a, evR, "after Add(Readable)")
	h.wantCalls(p, s, "the first Add", mux.Stats{Registers: 1})
	h.waitIdle(p, "Readable registered, nothing to read")

	s = p.Stats()
	h.mustAdd(p, a, evW)
	h.wantMask(p, a, evRW, "after Add(Readable) and Add(Writable)")
	h.wantCalls(p, s, "the second Add", mux.Stats{Modifies: 1})
	h.expect(p, soon, "Writable added to an idle socket", entry(a, evW))
	h.write(b, "x")
	h.expect(p, soon, "after the peer wrote", entry(a, evRW))
}

// Adding bits already registered changes nothing and calls nothing.
func pollerAddSameMaskTwice(t *testing.T, h *harness) {
	p := h.p
	a, b := h.socketpair()
	h.write(b, "x")
	h.mustAdd(p, a, evR)
	s := p.Stats()
	for _, m := range []event.Mask{evR, evR, event.None} {
		assert.NoError(t, p.Add(a, m), "Add(%d, %v) again", a, m)
	}
	h.wantMask(p, a, evR, "after adding Readable again")
	h.wantCalls(p, s, "Adds that change nothing", mux.Stats{})
	h.expect(p, soon, "registered once, reported once", entry(a, evR))

	h.mustAdd(p, a, evW)
	s = p.Stats()
	h.mustAdd(p, a, evRW)
	h.mustAdd(p, a, evW)
	h.wantMask(p, a, evRW, "after adding Readable|Writable again")
	h.wantCalls(p, s, "Adds that change nothing", mux.Stats{})
	h.expect(p, soon, "both bits", entry(a, evRW))
}

// Del part of the mask: the rest keeps firing; Del the rest: silence.
func pollerDelPartOfMask(t *testing.T, h *harness) {
	p := h.p
	a, b := h.socketpair()
	h.write(b, "x") // a is now readable, and writable all along
	h.mustAdd(p, a, evRW)
	h.expect(p, soon, "registered for both", entry(a, evRW))

	s := p.Stats()
	h.mustDel(p, a, evR)
	h.wantMask(p, a, evW, "after Del(Readable)")
	h.wantCalls(p, s, "Del of part of the mask", mux.Stats{Modifies: 1})
	h.expect(p, soon, "Readable deleted, Writable kept", entry(a, evW))

	h.mustAdd(p, a, evR)
	s = p.Stats()
	h.mustDel(p, a, evW)
	h.wantMask(p, a, evR, "after Del(Writable)")
	h.wantCalls(p, s, "Del of part of the mask", mux.Stats{Modifies: 1})
	h.expect(p, soon, "Writable deleted, Readable kept", entry(a, evR))

	s = p.Stats()
	h.mustDel(p, a, evR)
	h.wantMask(p, a, event.None, "after deleting every bit")
	h.wantCalls(p, s, "Del of the rest", mux.Stats{Deregisters: 1})
	h.waitIdle(p, "every bit deleted from a ready fd")

	// Registering again after a full Del is a fresh registration.
	s = p.Stats()
	h.mustAdd(p, a, evR)
	h.wantCalls(p, s, "Add after a full Del", mux.Stats{Registers: 1})
	h.expect(p, soon, "registered again", entry(a, evR))
}

// Del of what is not registered: no error, no kernel call.
func pollerDelUnregistered(t *testing.T, h *harness) {
	p := h.p
	a, b := h.socketpair()
	h.write(b, "x")
	s := p.Stats()
	for _, m := range []event.Mask{evR, evW, evRW, event.None} {
		assert.NoError(t, p.Del(a, m), "Del(%d, %v) of an fd never added", a, m)
	}
	h.wantMask(p, a, event.None, "after Dels of an fd never added")
	h.wantCalls(p, s, "Del of an fd never added", mux.Stats{})

	h.mustAdd(p, a, evR)
	h.mustDel(p, a, evR)
	s = p.Stats()
	for _, m := range []event.Mask{evR, evW, evRW} {
		assert.NoError(t, p.Del(a, m), "Del(%d, %v) of an fd already fully deleted", a, m)
	}
	h.wantMask(p, a, event.None, "after Dels of an fd fully deleted")
	h.wantCalls(p, s, "Del of an fd fully deleted", mux.Stats{})

	// Deleting a bit that is not registered leaves the other one alone.
	h.mustAdd(p, a, evR)
	s = p.Stats()
	h.mustDel(p, a, evW)
	h.wantMask(p, a, evR, "after Del(Writable) of an fd registered for Readable")
	h.wantCalls(p, s, "Del of a bit not registered", mux.Stats{})
	h.expect(p, soon, "Readable untouched", entry(a, evR))
}

// Bad input: each kind its own error, nothing changed.
func pollerBadInput(t *testing.T, h *harness) {
	p := h.p
	a, b := h.socketpair()
	h.mustAdd(p, a, evR)
	s := p.Stats()
	n := p.SetSize()
	for _, fd := range outOfRange(n) {
		h.wantErr(p.Add(fd, evR), mux.ErrRange, fmt.Sprintf("Add(%d, Readable) with set size %d", fd, n))
		h.wantErr(p.Del(fd, evR), mux.ErrRange, fmt.Sprintf("Del(%d, Readable) with set size %d", fd, n))
		h.wantMask(p, fd, event.None, "Mask of an fd out of range")
	}
	for _, m := range []event.Mask{event.Hangup, event.Error, evR | event.Hangup, evW | event.Error,
		event.Barrier, evW | event.Barrier, event.All, 0x20, evR | 0x40, 1 << 31} {
		h.wantErr(p.Add(a, m), mux.ErrBadMask, fmt.Sprintf("Add(%d, %v)", a, m))
		h.wantErr(p.Del(a, m), mux.ErrBadMask, fmt.Sprintf("Del(%d, %v)", a, m))
	}
	h.wantMask(p, a, evR, "after bad Adds and Dels")
	h.wantCalls(p, s, "bad Adds and Dels", mux.Stats{})

	// A closed fd: the kernel's EBADF, and no entry in the table.
	cr, cw := h.pipe()
	h.close(cw)
	h.close(cr)
	err := p.Add(cr, evR)
	assert.ErrorIs(t, err, syscall.EBADF, "Add(%d, Readable) of a closed fd: %v; want an error matching EBADF", cr, err)
	for _, s := range sentinels {
		assert.NotErrorIs(t, err, s.err, "Add of a closed fd: %v matches %s", err, s.name)
	}
	h.wantMask(p, cr, event.None, "after Add of a closed fd")

	// A registered fd closed before its Del: deleting all its bits
	// succeeds, on every backend, and clears the table.
	dr, dw := h.pipe()
	h.mustAdd(p, dr, evR)
	h.close(dw)
	h.close(dr)
	assert.NoError(t, p.Del(dr, evR), "Del(%d, Readable) of a registered fd closed before it", dr)
	h.wantMask(p, dr, event.None, "after Del of a closed fd")

	_, err = p.Wait(nil, 0)
	assert.Error(t, err, "Wait with an empty fired slice: no error")

	// The kernel state is unchanged as well: a still fires, alone.
	h.write(b, "x")
	h.expect(p, soon, "after the bad input", entry(a, evR))

	// A closed Poller.
	q := h.open(64)
	require.NoError(t, q.Close(), "Close")
	fired := make([]event.Fired, 4)
	h.wantErr(q.Add(a, evR), mux.ErrClosed, "Add on a closed Poller")
	h.wantErr(q.Del(a, evR), mux.ErrClosed, "Del on a closed Poller")
	_, err = q.Wait(fired, 0)
	h.wantErr(err, mux.ErrClosed, "Wait on a closed Poller")
	h.wantErr(q.Wake(), mux.ErrClosed, "Wake on a closed Poller")
	h.wantErr(q.Resize(128), mux.ErrClosed, "Resize on a closed Poller")
	h.wantMask(q, a, event.None, "Add on a closed Poller")
}

// Regular files and directories: ErrNotPollable on every backend.
func pollerNotPollable(t *testing.T, h *harness) {
	p := h.p
	dir := h.tempDir()
	path := dir + "/regular"
	require.NoError(t, os.WriteFile(path, []byte("data"), 0o600))
	files := map[string]string{"a regular file": path, "a directory": dir}
	for what, name := range files {
		fd, err := openFile(name)
		require.NoError(t, err, "open %s", name)
		h.own(fd)
		s := p.Stats()
		for _, m := range []event.Mask{evR, evW, evRW} {
			h.wantErr(p.Add(fd, m), mux.ErrNotPollable, fmt.Sprintf("Add(%v) of %s", m, what))
			h.wantMask(p, fd, event.None, "after Add of "+what)
		}
		s2 := p.Stats()
		assert.False(t, s2.Modifies != s.Modifies || s2.Deregisters != s.Deregisters, "refusing %s modified or deregistered something: %+v then %+v", what, s, s2)
		assert.NoError(t, p.Del(fd, evRW), "Del of %s that was refused", what)
		h.close(fd)
	}
	a, _ := h.socketpair()
	h.mustAdd(p, a, evR)
	h.waitIdle(p, "after refusing a file and a directory")
}

// An fd closed without Del: no failure, no spin; its number, reused,
// reports only the new interest.
func pollerClosedWithoutDel(t *testing.T, h *harness) {
	p := h.p
	rd, wr := h.pipe()
	h.mustAdd(p, rd, evR)
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
		got := h.wait(p, fired, idleWait)
		el := time.Since(start)
		for _, f := range got {
			if f.Fd != num {
				assert.Fail(t, fmt.Sprintf("Wait %d after the close reported fd %d (%v), which nobody registered", i, f.Fd, f.Mask))
				continue
			}
			reports++
			t.Logf("Wait %d reported the closed fd %d as %v", i, num, f.Mask)
		}
		assert.False(t, len(got) == 0 && el < idleWait, "Wait(%v) %d returned nothing after %v: early", idleWait, i, el)
	}
	assert.LessOrEqual(t, reports, 1, "the closed fd was reported %d times in %d Waits: at most once, then never again", reports, calls)
	waits, limit := p.Stats().Waits-s.Waits, calls*spinLimit(idleWait)
	assert.LessOrEqual(t, waits, limit, "%d Waits of %v went to the kernel %d times (more than %d): the closed fd makes Wait spin", calls, idleWait, waits, limit)

	// Take the number back with a socketpair end, readable and writable.
	reused, peer := h.socketpairAt(num)
	h.write(peer, "y")
	require.NoError(t, p.Add(reused, evW), "Add(%d, Writable) of a new file under a closed fd's number", reused)
	h.wantMask(p, reused, evW, "the new file under the reused number")
	h.expect(p, soon, "the new file is readable and writable, registered for Writable only", entry(reused, evW))
	h.mustDel(p, reused, evW)
	h.waitIdle(p, "the new file deleted")
}

// Resize: grow; shrink below a registered fd (refused, unchanged);
// shrink above it.
func pollerResize(t *testing.T, h *harness) {
	a, b := h.socketpair()
	hi := h.moveAbove(a, 300)
	p := h.open(256)
	h.wantErr(p.Add(hi, evR), mux.ErrRange, fmt.Sprintf("Add(%d) with set size 256", hi))
	require.NoError(t, p.Resize(1024), "Resize(1024) from 256")
	assert.Equal(t, 1024, p.SetSize(), "SetSize() = %d after Resize(1024)", p.SetSize())
	h.mustAdd(p, hi, evR)
	h.write(b, "x")
	h.expect(p, soon, "fd registered after growing", entry(hi, evR))

	for _, n := range []int{hi, hi - 1, 1, 0, -1, math.MinInt} {
		h.wantErr(p.Resize(n), mux.ErrRange, fmt.Sprintf("Resize(%d) with fd %d registered", n, hi))
	}
	assert.Equal(t, 1024, p.SetSize(), "SetSize() = %d after refused Resizes; want 1024 unchanged", p.SetSize())
	h.wantMask(p, hi, evR, "after refused Resizes")
	h.expect(p, soon, "after refused Resizes", entry(hi, evR))

	require.NoError(t, p.Resize(hi+1), "Resize(%d) with fd %d registered", hi+1, hi)
	assert.Equal(t, hi+1, p.SetSize(), "SetSize() = %d after Resize(%d)", p.SetSize(), hi+1)
	h.wantMask(p, hi, evR, "after shrinking above the fd")
	h.expect(p, soon, "after shrinking above the fd", entry(hi, evR))
	h.wantErr(p.Add(hi+1, evR), mux.ErrRange, "Add at the new set size")

	require.NoError(t, p.Resize(4*hi), "Resize(%d)", 4*hi)
	h.wantMask(p, hi, evR, "after growing again")
	h.expect(p, soon, "after growing again", entry(hi, evR))

	h.mustDel(p, hi, evR)
	assert.NoError(t, p.Resize(hi), "Resize(%d) once fd %d is deleted", hi, hi)
	h.wantErr(p.Add(hi, evR), mux.ErrRange, "Add at the shrunk set size")
	h.waitIdle(p, "nothing registered after the shrink")
}

// 10,000 registered fds, numbered well above 1024, and random writers
// on several goroutines: every event reaches the right fd, none is lost,
// none is invented.
func pollerManyFds(t *testing.T, h *harness) {
	const want = 10000
	limit := raiseNofile()
	inUse := len(fdtest.OpenFds())
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
	require.Greater(t, maxfd, 1024, "%d fds, the highest numbered %d: none above 1024", n, maxfd)
	p := h.open(maxfd + 1)
	s := p.Stats()
	for _, fd := range ends {
		h.mustAdd(p, fd, evR)
	}
	h.wantCalls(p, s, fmt.Sprintf("registering %d fds", n), mux.Stats{Registers: uint64(n)})
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
		assert.Fail(t, fmt.Sprintf(format, args...))
		if problems++; problems >= 10 {
			require.FailNow(t, fmt.Sprintf("stopping after %d problems", problems))
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
					if _, err := fdtest.Write(ends[i], []byte{1}); err != nil {
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
					drain(fd)
					continue
				case done[fd] == round:
					problem("round %d: fd %d reported again after it was drained", round, fd)
					continue
				case f.Mask != evR:
					problem("round %d: fd %d reported as %v; want Readable", round, fd, f.Mask)
				}
				var buf [8]byte
				nr, err := fdtest.Read(fd, buf[:])
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
			require.FailNow(t, fmt.Sprintf("round %d: %v", round, err))
		}
		if remaining > 0 {
			var lost []int
			for _, i := range picks {
				if fd := peer[ends[i]]; done[fd] != round {
					lost = append(lost, fd)
				}
			}
			require.FailNow(t, fmt.Sprintf("round %d: %d of %d events never reported within 3s (fds %v...): lost", round, remaining, len(picks), lost[:min(len(lost), 10)]))
		}
		if got := h.wait(p, fired, 0); len(got) > 0 {
			problem("round %d: every write was reported and drained, yet Wait reported %s", round, formatEntries(got))
		}
	}
	assert.NotZero(t, high, "no fd above 1024 was reported")
	t.Logf("%d events above fd 1024 delivered in %v", high, time.Since(start).Round(time.Millisecond))
}
