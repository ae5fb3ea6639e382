package tests

import (
	"math"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

func loopAddEventRange(t *testing.T, h *harness, l *aeloop.Loop) {
	a, _ := h.socketpair()
	n := l.SetSize()
	for _, fd := range []int{n, n + 1, -1, math.MinInt} {
		err := l.AddEvent(fd, event.Readable, nopHandler, "x")
		require.ErrorIs(t, err, mux.ErrRange, "fd %d", fd)
		assert.ErrorIs(t, err, syscall.ERANGE, "ERANGE, for code ported from C")
		assert.Equal(t, event.None, l.GetEvents(fd))
		assert.Nil(t, l.GetClientData(fd))
	}

	// A real fd equal to the set size: refused, nothing reaches the kernel.
	small := h.newLoop(a)
	st := small.Stats().Poller
	require.ErrorIs(t, small.AddEvent(a, event.Readable, nopHandler, "x"), mux.ErrRange)
	assert.Equal(t, event.None, small.GetEvents(a))
	assert.Nil(t, small.GetClientData(a))
	assert.Equal(t, st, small.Stats().Poller, "a refused AddEvent made a kernel call")
	require.NoError(t, small.ResizeSetSize(a+1))
	require.NoError(t, small.AddEvent(a, event.Readable, nopHandler, "x"))
	assert.Equal(t, event.Readable, small.GetEvents(a))
}

func loopAddEventMerges(t *testing.T, h *harness, l *aeloop.Loop) {
	a, _ := h.socketpair()
	st0 := l.Stats().Poller
	require.NoError(t, l.AddEvent(a, event.Readable, nopHandler, nil))
	assert.Equal(t, event.Readable, l.GetEvents(a))
	require.NoError(t, l.AddEvent(a, event.Writable, nopHandler, nil))
	assert.Equal(t, event.Readable|event.Writable, l.GetEvents(a), "masks merge")
	st1 := l.Stats().Poller
	assert.Equal(t, st0.Registers+1, st1.Registers, "the first AddEvent registers")
	assert.Equal(t, st0.Modifies+1, st1.Modifies, "the second AddEvent modifies")

	require.NoError(t, l.AddEvent(a, event.Writable|event.Barrier, nopHandler, nil))
	assert.Equal(t, event.Mask(7), l.GetEvents(a), "GetEvents returns Barrier too")
	require.NoError(t, l.AddEvent(a, event.Readable, nopHandler, nil))
	assert.Equal(t, event.Mask(7), l.GetEvents(a))
	assert.Equal(t, st1, l.Stats().Poller, "adding bits already registered (or Barrier) made a kernel call")
}

func loopAddEventBadInput(t *testing.T, h *harness, l *aeloop.Loop) {
	a, _ := h.socketpair()
	check := func(fd int) {
		t.Helper()
		assert.Equal(t, event.None, l.GetEvents(fd), "a failed AddEvent changed the mask")
		assert.Nil(t, l.GetClientData(fd), "a failed AddEvent stored client data")
	}
	for _, m := range []event.Mask{event.Hangup, event.Error, event.Readable | 0x40, 0x100} {
		require.ErrorIs(t, l.AddEvent(a, m, nopHandler, "x"), mux.ErrBadMask, "mask %v", m)
		check(a)
	}
	require.ErrorIs(t, l.AddEvent(a, event.Readable, nil, "x"), aeloop.ErrNilFunc)
	check(a)

	dir := h.tempDir()
	f, err := os.CreateTemp(dir, "regular")
	require.NoError(t, err)
	defer f.Close()
	require.ErrorIs(t, l.AddEvent(int(f.Fd()), event.Readable, nopHandler, "x"), mux.ErrNotPollable)
	check(int(f.Fd()))
	d, err := os.Open(dir)
	require.NoError(t, err)
	defer d.Close()
	require.ErrorIs(t, l.AddEvent(int(d.Fd()), event.Readable, nopHandler, "x"), mux.ErrNotPollable)
	check(int(d.Fd()))

	closed, _ := h.pipe()
	h.close(closed)
	require.ErrorIs(t, l.AddEvent(closed, event.Readable, nopHandler, "x"), syscall.EBADF)
	check(closed)
}

func loopClientData(t *testing.T, h *harness, l *aeloop.Loop) {
	a, _ := h.socketpair()
	assert.Nil(t, l.GetClientData(a))
	require.NoError(t, l.AddEvent(a, event.Readable, nopHandler, "r"))
	assert.Equal(t, "r", l.GetClientData(a))
	require.NoError(t, l.AddEvent(a, event.Writable, nopHandler, "w"))
	assert.Equal(t, "w", l.GetClientData(a), "one slot, overwritten by every AddEvent")
	l.DelEvent(a, event.Readable)
	assert.Equal(t, "w", l.GetClientData(a))
	l.DelEvent(a, event.Writable)
	assert.Nil(t, l.GetClientData(a), "client data of an unregistered fd")
	require.NoError(t, l.AddEvent(a, event.None, nopHandler, "n"))
	assert.Nil(t, l.GetClientData(a), "AddEvent with mask None registers nothing")
	assert.Equal(t, event.None, l.GetEvents(a))
}

func loopDelEvent(t *testing.T, h *harness, l *aeloop.Loop) {
	a := h.readyBoth()
	var got []event.Mask
	handler := func(_ *aeloop.Loop, _ int, _ any, m event.Mask) { got = append(got, m) }
	require.NoError(t, l.AddEvent(a, event.Readable|event.Writable|event.Barrier, handler, nil))

	st := l.Stats().Poller
	l.DelEvent(a, event.Barrier)
	assert.Equal(t, event.Readable|event.Writable, l.GetEvents(a))
	assert.Equal(t, st, l.Stats().Poller, "deleting Barrier alone made a kernel call")

	require.NoError(t, l.AddEvent(a, event.Writable|event.Barrier, handler, nil))
	st = l.Stats().Poller
	l.DelEvent(a, event.Writable)
	assert.Equal(t, event.Readable, l.GetEvents(a), "deleting Writable deletes Barrier")
	assert.Equal(t, st.Modifies+1, l.Stats().Poller.Modifies)
	assert.Equal(t, 1, process(t, l, aeloop.FileEvents|aeloop.DontWait))
	assert.Equal(t, []event.Mask{event.Readable}, got, "the rest keeps firing, and only the rest")

	c, _ := h.socketpair()
	st = l.Stats().Poller
	l.DelEvent(c, event.Readable|event.Writable) // never added
	l.DelEvent(l.SetSize(), event.Readable)      // out of range
	l.DelEvent(-1, event.Readable)
	l.DelEvent(a, event.Writable) // a bit a does not have
	assert.Equal(t, event.Readable, l.GetEvents(a))
	assert.Equal(t, st, l.Stats().Poller, "a DelEvent that changes nothing made a kernel call")

	l.DelEvent(a, event.Readable)
	assert.Equal(t, event.None, l.GetEvents(a))
	assert.Equal(t, st.Deregisters+1, l.Stats().Poller.Deregisters)
	got = nil
	assert.Equal(t, 0, process(t, l, aeloop.FileEvents|aeloop.DontWait))
	assert.Empty(t, got, "a deleted fd fired")

	// Report-only and unknown bits in a DelEvent are ignored.
	require.NoError(t, l.AddEvent(a, event.Readable, handler, nil))
	l.DelEvent(a, event.Readable|event.Hangup|event.Error|0x40)
	assert.Equal(t, event.None, l.GetEvents(a))

	// An fd closed before DelEvent: the error is ignored, the table cleared.
	fd, _ := h.pipe()
	require.NoError(t, l.AddEvent(fd, event.Readable, handler, "x"))
	h.close(fd)
	l.DelEvent(fd, event.Readable)
	assert.Equal(t, event.None, l.GetEvents(fd))
	assert.Nil(t, l.GetClientData(fd))
}

func loopHangup(t *testing.T, h *harness, l *aeloop.Loop) {
	a, b := h.socketpair()
	var got []event.Mask
	require.NoError(t, l.AddEvent(a, event.Readable, func(_ *aeloop.Loop, fd int, _ any, m event.Mask) {
		got = append(got, m)
		var buf [8]byte
		n, err := fdtest.Read(fd, buf[:])
		assert.Equal(t, 0, n, "read after the peer closed")
		assert.NoError(t, err)
	}, nil))
	require.NoError(t, fdtest.Shutdown(b))
	assert.Equal(t, 1, process(t, l, aeloop.FileEvents|aeloop.DontWait))
	require.Len(t, got, 1)
	assert.True(t, got[0].Has(event.Readable), "got %v", got[0])
	assert.False(t, got[0].Has(event.Writable), "Writable was not registered: %v", got[0])
}

func loopReadBeforeWrite(t *testing.T, h *harness, l *aeloop.Loop) {
	a := h.readyBoth()
	var log []string
	require.NoError(t, l.AddEvent(a, event.Readable, func(_ *aeloop.Loop, _ int, _ any, m event.Mask) {
		log = append(log, "R:"+m.String())
	}, nil))
	require.NoError(t, l.AddEvent(a, event.Writable, func(_ *aeloop.Loop, _ int, _ any, m event.Mask) {
		log = append(log, "W:"+m.String())
	}, nil))
	assert.Equal(t, 1, process(t, l, aeloop.FileEvents|aeloop.DontWait), "one fired entry")
	assert.Equal(t, []string{"R:Readable|Writable", "W:Readable|Writable"}, log,
		"read handler first; both get the fired mask")
}

func loopBarrier(t *testing.T, h *harness, l *aeloop.Loop) {
	a := h.readyBoth()
	var log []string
	require.NoError(t, l.AddEvent(a, event.Readable, func(*aeloop.Loop, int, any, event.Mask) {
		log = append(log, "R")
	}, nil))
	require.NoError(t, l.AddEvent(a, event.Writable|event.Barrier, func(*aeloop.Loop, int, any, event.Mask) {
		log = append(log, "W")
	}, nil))
	assert.Equal(t, 1, process(t, l, aeloop.FileEvents|aeloop.DontWait))
	assert.Equal(t, []string{"W", "R"}, log, "Barrier runs the write handler first")

	l.DelEvent(a, event.Writable)
	require.NoError(t, l.AddEvent(a, event.Writable, func(*aeloop.Loop, int, any, event.Mask) {
		log = append(log, "W")
	}, nil))
	log = nil
	process(t, l, aeloop.FileEvents|aeloop.DontWait)
	assert.Equal(t, []string{"R", "W"}, log, "Barrier went away with Writable")
}

func loopOneProc(t *testing.T, h *harness, l *aeloop.Loop) {
	var masks []event.Mask
	handler := func(_ *aeloop.Loop, _ int, _ any, m event.Mask) { masks = append(masks, m) }
	run := func(name string, register func(fd int), want []event.Mask) {
		t.Helper()
		a := h.readyBoth()
		register(a)
		masks = nil
		assert.Equal(t, 1, process(t, l, aeloop.FileEvents|aeloop.DontWait), name)
		assert.Equal(t, want, masks, name)
		l.DelEvent(a, event.Readable|event.Writable)
	}
	rw := event.Readable | event.Writable
	run("one AddEvent for both", func(fd int) {
		require.NoError(t, l.AddEvent(fd, rw, handler, nil))
	}, []event.Mask{rw})
	run("one AddEvent for both, with Barrier", func(fd int) {
		require.NoError(t, l.AddEvent(fd, rw|event.Barrier, handler, nil))
	}, []event.Mask{rw})
	// aemux: Go cannot compare funcs, so two AddEvent calls are two handlers
	// even when the same func is passed (documented in package aeloop).
	run("two AddEvent calls, same func", func(fd int) {
		require.NoError(t, l.AddEvent(fd, event.Readable, handler, nil))
		require.NoError(t, l.AddEvent(fd, event.Writable, handler, nil))
	}, []event.Mask{rw, rw})
	run("one for both, then Readable replaced alone", func(fd int) {
		require.NoError(t, l.AddEvent(fd, rw, handler, nil))
		require.NoError(t, l.AddEvent(fd, event.Readable, handler, nil))
	}, []event.Mask{rw, rw})

	// Only one bit fired: the shared proc runs once with that bit.
	a, _ := h.socketpair()
	require.NoError(t, l.AddEvent(a, rw, handler, nil))
	masks = nil
	assert.Equal(t, 1, process(t, l, aeloop.FileEvents|aeloop.DontWait))
	assert.Equal(t, []event.Mask{event.Writable}, masks)
}

func loopDeleteOwnBit(t *testing.T, h *harness, l *aeloop.Loop) {
	for _, barrier := range []bool{false, true} {
		a := h.readyBoth()
		var log []string
		extra := event.None
		if barrier {
			extra = event.Barrier
		}
		require.NoError(t, l.AddEvent(a, event.Readable, func(l *aeloop.Loop, fd int, _ any, _ event.Mask) {
			log = append(log, "R")
			l.DelEvent(fd, event.Writable)
		}, nil))
		require.NoError(t, l.AddEvent(a, event.Writable|extra, func(l *aeloop.Loop, fd int, _ any, _ event.Mask) {
			log = append(log, "W")
			l.DelEvent(fd, event.Readable)
		}, nil))
		assert.Equal(t, 1, process(t, l, aeloop.FileEvents|aeloop.DontWait), "the entry still counts")
		if barrier {
			assert.Equal(t, []string{"W"}, log, "the write handler deleted Readable: no read handler")
		} else {
			assert.Equal(t, []string{"R"}, log, "the read handler deleted Writable: no write handler")
		}
		l.DelEvent(a, event.Readable|event.Writable)
	}
}

func loopDeleteOtherFd(t *testing.T, h *harness, l *aeloop.Loop) {
	a, c := h.readyBoth(), h.readyBoth()
	calls := 0
	require.NoError(t, l.AddEvent(a, event.Readable, func(l *aeloop.Loop, _ int, _ any, _ event.Mask) {
		calls++
		l.DelEvent(c, event.Readable)
	}, nil))
	require.NoError(t, l.AddEvent(c, event.Readable, func(l *aeloop.Loop, _ int, _ any, _ event.Mask) {
		calls++
		l.DelEvent(a, event.Readable)
	}, nil))
	assert.Equal(t, 2, process(t, l, aeloop.FileEvents|aeloop.DontWait),
		"both fds fired in one batch and both entries count")
	assert.Equal(t, 1, calls, "the handler of an fd deleted earlier in the batch ran")
}

func loopDelReAdd(t *testing.T, h *harness, l *aeloop.Loop) {
	// Two fds: whichever handler runs first deletes the other and adds it
	// back with a new handler. The stale entry must not reach it.
	a, c := h.readyBoth(), h.readyBoth()
	first, fresh := 0, 0
	freshH := func(*aeloop.Loop, int, any, event.Mask) { fresh++ }
	done := false
	handler := func(l *aeloop.Loop, fd int, _ any, _ event.Mask) {
		if done {
			return
		}
		done = true
		first++
		other := c
		if fd == c {
			other = a
		}
		l.DelEvent(other, event.Readable)
		require.NoError(t, l.AddEvent(other, event.Readable, freshH, nil))
	}
	require.NoError(t, l.AddEvent(a, event.Readable, handler, nil))
	require.NoError(t, l.AddEvent(c, event.Readable, handler, nil))
	assert.Equal(t, 2, process(t, l, aeloop.FileEvents|aeloop.DontWait))
	assert.Equal(t, 1, first)
	assert.Equal(t, 0, fresh, "an event polled before DelEvent reached the handler added after it")
	assert.Equal(t, 2, process(t, l, aeloop.FileEvents|aeloop.DontWait))
	assert.Equal(t, 1, fresh, "the re-added fd fires in the next call")

	// One fd: its read handler deletes it and adds it back for both
	// directions; the pending write half of the entry is stale.
	d := h.readyBoth()
	oldW, newCalls := 0, 0
	require.NoError(t, l.AddEvent(d, event.Readable, func(l *aeloop.Loop, fd int, _ any, _ event.Mask) {
		l.DelEvent(fd, event.Readable|event.Writable)
		require.NoError(t, l.AddEvent(fd, event.Readable|event.Writable,
			func(*aeloop.Loop, int, any, event.Mask) { newCalls++ }, nil))
	}, nil))
	require.NoError(t, l.AddEvent(d, event.Writable, func(*aeloop.Loop, int, any, event.Mask) { oldW++ }, nil))
	l.DelEvent(a, event.Readable)
	l.DelEvent(c, event.Readable)
	assert.Equal(t, 1, process(t, l, aeloop.FileEvents|aeloop.DontWait))
	assert.Equal(t, 0, oldW, "the deleted write handler ran")
	assert.Equal(t, 0, newCalls, "the new handler got the stale event")
	assert.Equal(t, 1, process(t, l, aeloop.FileEvents|aeloop.DontWait))
	assert.Equal(t, 1, newCalls)
}

func loopNestedFile(t *testing.T, h *harness, l *aeloop.Loop) {
	// a and c are ready. Whichever the backend reports first (first), its
	// handler deletes the other (second), whose entry is still pending in
	// this batch, makes e ready, and runs a nested ProcessEvents, which
	// polls {first, e}. The outer batch must go on with its own entries:
	// second skipped, e not delivered twice, first not re-run.
	a, c := h.readyBoth(), h.readyBoth()
	e, ePeer := h.socketpair()
	calls := map[int]int{}
	first, second := -1, -1
	var innerN int
	handler := func(l *aeloop.Loop, fd int, _ any, m event.Mask) {
		calls[fd]++
		assert.Equal(t, event.Readable, m)
		if first < 0 && fd != e {
			first, second = fd, a
			if fd == a {
				second = c
			}
			l.DelEvent(second, event.Readable)
			h.write(ePeer, "x")
			// Wait until e is readable: under Wine the report of a send
			// comes a moment later, and the nested call must see it.
			m, err := mux.WaitFd(e, event.Readable, 2*time.Second)
			require.NoError(t, err)
			require.Equal(t, event.Readable, m, "e is not readable 2 s after its peer wrote")
			n, err := l.ProcessEvents(aeloop.FileEvents | aeloop.DontWait)
			assert.NoError(t, err)
			innerN = n
		}
	}
	require.NoError(t, l.AddEvent(a, event.Readable, handler, nil))
	require.NoError(t, l.AddEvent(c, event.Readable, handler, nil))
	require.NoError(t, l.AddEvent(e, event.Readable, handler, nil))
	assert.Equal(t, 2, process(t, l, aeloop.FileEvents|aeloop.DontWait), "a and c fired")
	assert.Equal(t, 2, innerN, "the nested call saw the first fd and e")
	assert.Equal(t, map[int]int{first: 2, e: 1}, calls,
		"the nested call disturbed the batch of the outer one (first fd %d, deleted fd %d)", first, second)
}

func loopResizeInHandler(t *testing.T, h *harness, l *aeloop.Loop) {
	const k = 8
	fds := make([]int, k)
	for i := range fds {
		fds[i] = h.readyBoth()
	}
	lowest := slices.Min(fds)
	calls := 0
	handler := func(l *aeloop.Loop, _ int, _ any, _ event.Mask) {
		calls++
		for _, fd := range fds {
			l.DelEvent(fd, event.Readable)
		}
		assert.NoError(t, l.ResizeSetSize(lowest), "shrinking below every fd, now unregistered")
	}
	for _, fd := range fds {
		require.NoError(t, l.AddEvent(fd, event.Readable, handler, nil))
	}
	require.ErrorIs(t, l.ResizeSetSize(lowest), mux.ErrRange, "shrinking below a registered fd")
	assert.Equal(t, 1024, l.SetSize(), "a refused resize changed the set size")
	for _, fd := range fds {
		assert.Equal(t, event.Readable, l.GetEvents(fd))
	}
	assert.Equal(t, k, process(t, l, aeloop.FileEvents|aeloop.DontWait), "every entry counts")
	assert.Equal(t, 1, calls, "later entries, now out of range, are skipped")
	assert.Equal(t, lowest, l.SetSize())

	require.NoError(t, l.ResizeSetSize(lowest), "same size")
	require.NoError(t, l.ResizeSetSize(1024))
	require.NoError(t, l.AddEvent(fds[0], event.Readable, nopHandler, nil))
	assert.ErrorIs(t, l.ResizeSetSize(0), mux.ErrRange)
	assert.ErrorIs(t, l.ResizeSetSize(-3), mux.ErrRange)
	assert.Equal(t, 1024, l.SetSize())
}
