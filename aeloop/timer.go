package aeloop

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aemux/mux"
)

// timer is one time event (aeTimeEvent).
type timer struct {
	id      int64
	due     int64 // nanoseconds since Loop.base, on the monotonic clock
	index   int   // position in the heap, -1 when out of it
	proc    TimeProc
	data    any
	fin     Finalizer
	running bool // its callback is running: it is out of the heap meanwhile
	deleted bool // DelTimer, NoMore or Close: it will never run again
}

// heapEntry is one heap slot. The sort key is copied next to the pointer,
// as Go's runtime timer heap does, so that sifting compares without chasing
// pointers: with a million timers that is most of the cost.
type heapEntry struct {
	due int64
	id  int64
	t   *timer
}

// timerState holds a loop's timers: live ones in a 4-ary min-heap ordered by
// (due, id), and in byID for DelTimer. A deleted timer leaves both at once,
// in O(log n); its finalizer waits in finq for the next timer pass, as in ae.
type timerState struct {
	nextID  int64
	heap    []heapEntry
	byID    map[int64]*timer
	finq    []*timer // deleted, finalizer not run yet
	finHead int      // next finq entry to finalize (re-entrancy safe)
	// lastPass is the previous timer pass's start. Each pass starts
	// strictly after it, so that a timer rescheduled by one pass is due
	// in the next even where the monotonic clock moves in steps (about
	// 1 ms on Windows and Wine) and has not moved between the two.
	lastPass int64
}

func (ts *timerState) init() { ts.byID = make(map[int64]*timer) }

// addSat returns a+b (b >= 0) without overflowing past the far future.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// AddTimer schedules proc to run once after (aeCreateTimeEvent) and returns
// the timer's id: 0 for a loop's first timer, then counting up, never
// reused. A delay of zero or less makes it due at once; timers due at the
// same time run in creation order. When proc returns a delay d, it runs
// again d after it returned; when it returns NoMore, the timer is deleted.
// fin, if not nil, is called exactly once when the timer is gone for good:
// after NoMore, after DelTimer (at the next timer pass), or at Close.
//
// A timer added while timers are being run (by a timer callback or a
// finalizer) waits for the next ProcessEvents call, even with a zero delay;
// one added by an fd handler or a hook runs in the current call if due.
// A nil proc fails with ErrNilFunc; a closed loop with mux.ErrClosed. The id
// returned with an error is -1.
//
// after is a time.Duration, not ae's milliseconds: a port of
// aeCreateTimeEvent(el, ms, ...) passes ms * time.Millisecond. A bare
// constant compiles and is nanoseconds (AddTimer(100, ...) fires after
// 100 ns, not 100 ms); cmd/aeloopvet reports such constants.
func (l *Loop) AddTimer(after time.Duration, proc TimeProc, clientData any, fin Finalizer) (int64, error) {
	if l.isClosed() {
		return -1, mux.ErrClosed
	}
	if proc == nil {
		return -1, fmt.Errorf("aeloop: add timer: %w", ErrNilFunc)
	}
	ts := &l.timers
	t := &timer{id: ts.nextID, proc: proc, data: clientData, fin: fin}
	ts.nextID++
	t.due = addSat(l.now(), int64(max(after, 0)))
	ts.push(t)
	ts.byID[t.id] = t
	return t.id, nil
}

// DelTimer deletes a timer (aeDeleteTimeEvent). It never runs again, even if
// its callback is running now and returns a delay; its finalizer runs at the
// next timer pass, or when the running callback returns. An id that is
// unknown or already deleted fails with ErrNoTimer.
func (l *Loop) DelTimer(id int64) error {
	if l.isClosed() {
		return mux.ErrClosed
	}
	ts := &l.timers
	t, ok := ts.byID[id]
	if !ok {
		return fmt.Errorf("aeloop: delete timer %d: %w", id, ErrNoTimer)
	}
	delete(ts.byID, id)
	t.deleted = true
	if t.index >= 0 {
		ts.removeAt(t.index)
	}
	if !t.running {
		ts.finq = append(ts.finq, t)
	}
	return nil
}

// untilEarliest is the poll timeout for the timers: the time until the
// earliest one is due (0 if overdue), or -1 (block) if there is none.
// Deleted timers are not in the heap, so they never shorten it.
func (ts *timerState) untilEarliest(now int64) time.Duration {
	if len(ts.heap) == 0 {
		return -1
	}
	return time.Duration(max(ts.heap[0].due-now, 0))
}

// processTimers is one timer pass (processTimeEvents): the finalizers of
// deleted timers, then every timer due at the pass's start that existed
// before it. It returns the number of callbacks run and the loop clock
// at the start of the pass.
func (l *Loop) processTimers() (int, int64) {
	ts := &l.timers
	maxID := ts.nextID - 1
	l.runFinalizers()
	now := max(l.now(), ts.lastPass+1)
	ts.lastPass = now
	processed := 0
	for len(ts.heap) > 0 && !l.isClosed() {
		if e := &ts.heap[0]; e.due > now || e.id > maxID {
			// Heap order is (due, id): every other timer is either not
			// due or was created during this pass.
			break
		}
		t := ts.heap[0].t
		ts.removeAt(0)
		t.running = true
		d := t.proc(l, t.id, t.data)
		t.running = false
		processed++
		l.stats.Timers++
		if !t.deleted && d == NoMore {
			delete(ts.byID, t.id)
			t.deleted = true
		}
		if t.deleted {
			l.finalize(t)
			continue
		}
		// Strictly after this pass's start, so it cannot run twice in it.
		t.due = max(addSat(l.now(), int64(max(d, 0))), now+1)
		ts.push(t)
	}
	return processed, now
}

// runFinalizers finalizes the timers DelTimer queued, in deletion order,
// including those queued meanwhile by the finalizers themselves.
func (l *Loop) runFinalizers() {
	ts := &l.timers
	for ts.finHead < len(ts.finq) {
		t := ts.finq[ts.finHead]
		ts.finq[ts.finHead] = nil
		ts.finHead++
		l.finalize(t)
	}
	ts.finq, ts.finHead = ts.finq[:0], 0
}

func (l *Loop) finalize(t *timer) {
	fin, data := t.fin, t.data
	t.proc, t.data, t.fin = nil, nil, nil
	if fin != nil {
		fin(l, data)
	}
}

// closeAll drops every timer for Close: finalizers of deleted timers first,
// then those of live timers by id. A timer whose callback is running is
// marked deleted and finalized when the callback returns.
func (ts *timerState) closeAll(l *Loop) {
	live := make([]*timer, 0, len(ts.byID))
	for _, t := range ts.byID {
		live = append(live, t)
	}
	slices.SortFunc(live, func(a, b *timer) int {
		if a.id < b.id {
			return -1
		}
		return 1
	})
	for _, e := range ts.heap {
		e.t.index = -1
	}
	ts.heap, ts.byID = nil, map[int64]*timer{}
	l.runFinalizers()
	for _, t := range live {
		t.deleted = true
		if !t.running {
			l.finalize(t)
		}
	}
}

// The heap: 4-ary, like Go's runtime timers, so a million timers are ten
// levels deep. Each timer knows its index, so removal is O(log n).

func entryLess(a, b *heapEntry) bool {
	return a.due < b.due || (a.due == b.due && a.id < b.id)
}

func (ts *timerState) push(t *timer) {
	t.index = len(ts.heap)
	ts.heap = append(ts.heap, heapEntry{t.due, t.id, t})
	ts.up(t.index)
}

func (ts *timerState) removeAt(i int) {
	h := ts.heap
	last := len(h) - 1
	t := h[i].t
	if i != last {
		place(h, i, h[last])
	}
	h[last] = heapEntry{}
	ts.heap = h[:last]
	t.index = -1
	if i != last {
		if !ts.down(i) {
			ts.up(i)
		}
	}
}

func (ts *timerState) up(i int) {
	h := ts.heap
	e := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if !entryLess(&e, &h[p]) {
			break
		}
		place(h, i, h[p])
		i = p
	}
	place(h, i, e)
}

// down sifts h[i] towards the leaves and reports whether it moved.
func (ts *timerState) down(i int) bool {
	h := ts.heap
	n := len(h)
	e := h[i]
	start := i
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		best := c
		for k := c + 1; k < c+4 && k < n; k++ {
			if entryLess(&h[k], &h[best]) {
				best = k
			}
		}
		if !entryLess(&h[best], &e) {
			break
		}
		place(h, i, h[best])
		i = best
	}
	place(h, i, e)
	return i != start
}

// place puts e in slot i of h and tells its timer where it now is: every
// move the sifts make goes through here, so index never falls out of step.
func place(h []heapEntry, i int, e heapEntry) {
	h[i] = e
	e.t.index = i
}
