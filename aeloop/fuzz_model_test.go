//go:build unix

package aeloop

import (
	"time"

	"github.com/aemux/mux/event"
)

// FuzzLoop's model of a loop (see fuzz_test.go): what AddEvent, DelEvent
// and ResizeSetSize must do to the registrations, which handlers a batch
// must call, and what the timers' callbacks and finalizers must see.

// The model of one loop's registrations: AddEvent, DelEvent, ResizeSetSize.

func (b *fzLoop) reg(fd int) *fzReg {
	if r := b.regs[fd]; r != nil {
		return r
	}
	return &fzReg{}
}

func (b *fzLoop) mAdd(fd int, mask event.Mask, hid int) string {
	switch {
	case fd >= b.setsize:
		return "ErrRange"
	case mask&^event.Registrable != 0:
		return "ErrBadMask"
	}
	r := b.reg(fd)
	old, nw := r.mask, r.mask|mask
	if nw&event.IO != old&event.IO && b.h.fds.Lookup(fd) == nil {
		return "EBADF" // the kernel is asked about a closed fd
	}
	if nw == event.None {
		return "nil"
	}
	if old&event.IO == 0 && nw&event.IO != 0 {
		b.gen++
		r.gen = b.gen
	}
	if mask&event.Readable != 0 {
		r.rh = hid
	}
	if mask&event.Writable != 0 {
		r.wh = hid
	}
	switch mask & event.IO {
	case event.IO:
		r.both = true
	case event.Readable, event.Writable:
		r.both = false
	}
	r.mask, r.data = nw, hid
	b.regs[fd] = r
	return "nil"
}

func (b *fzLoop) mDel(fd int, mask event.Mask) {
	r := b.regs[fd]
	if fd >= b.setsize || r == nil {
		return
	}
	mask &= event.Registrable
	if mask&event.Writable != 0 {
		mask |= event.Barrier
	}
	if r.mask &^= mask; r.mask&event.IO == 0 {
		delete(b.regs, fd)
		return
	}
	if r.mask&event.Readable == 0 {
		r.rh, r.both = 0, false
	}
	if r.mask&event.Writable == 0 {
		r.wh, r.both = 0, false
	}
}

func (b *fzLoop) mResize(n int) string {
	if n < 1 {
		return "ErrRange"
	}
	for fd := range b.regs {
		if fd >= n {
			return "ErrRange"
		}
	}
	b.setsize = n
	return "nil"
}

// fzTarget is what a handler's action works on: the real loop (fzReal)
// or the loop's model (fzLoop). add and resize return error classes.
type fzTarget interface {
	del(fd int, mask event.Mask)
	add(fd int, mask event.Mask, hid int) string
	resize(delta int) string
}

// do performs the action of handler hid, called for fd, on x; it returns
// the error class of what it did, or "".
func (act fzAction) do(x fzTarget, fd, hid int) string {
	switch act.kind {
	case 'o':
		x.del(fd, act.mask)
	case 'x':
		x.del(act.target, act.mask)
	case 'a':
		x.del(fd, event.Registrable)
		return x.add(fd, event.Readable, hid+fzReAdd)
	case 'z':
		return x.resize(act.delta)
	}
	return ""
}

// fzReal is a loop seen as a fzTarget; b provides the handlers.
type fzReal struct {
	b *fzLoop
	l *Loop
}

func (x fzReal) del(fd int, mask event.Mask) { x.l.DelEvent(fd, mask) }

func (x fzReal) add(fd int, mask event.Mask, hid int) string {
	return fzClass(x.l.AddEvent(fd, mask, x.b.handler(hid), hid))
}

func (x fzReal) resize(delta int) string { return fzClass(x.l.ResizeSetSize(x.l.SetSize() + delta)) }

func (b *fzLoop) del(fd int, mask event.Mask)                 { b.mDel(fd, mask) }
func (b *fzLoop) add(fd int, mask event.Mask, hid int) string { return b.mAdd(fd, mask, hid) }
func (b *fzLoop) resize(delta int) string                     { return b.mResize(b.setsize + delta) }

// handler returns the FileProc with id hid for this loop: it records its
// call and does its action (none for the ids of re-added handlers).
func (b *fzLoop) handler(hid int) FileProc {
	act := b.h.actions[hid]
	return func(l *Loop, fd int, data any, mask event.Mask) {
		res := act.do(fzReal{b, l}, fd, hid)
		b.log = append(b.log, fzCall{kind: 'f', fd: fd, id: hid, mask: mask & event.IO, res: res})
	}
}

// mCall is the model of a handler call: the entry it logs, after doing its
// action to the model.
func (b *fzLoop) mCall(fd, hid int, fired event.Mask) fzCall {
	res := b.h.actions[hid].do(b, fd, hid)
	return fzCall{kind: 'f', fd: fd, id: hid, mask: fired & event.IO, res: res}
}

// mDispatch is the model of dispatching one batch (ae's
// processFileEvents with aeloop's stale-entry rule); gens are the
// registrations' generations at the poll.
func (b *fzLoop) mDispatch(batch []event.Fired, gens []int) []fzCall {
	var calls []fzCall
	for j, f := range batch {
		fd, fired := f.Fd, f.Mask
		live := func() bool { return fd < b.setsize && b.reg(fd).gen == gens[j] }
		if !live() {
			continue
		}
		r := b.reg(fd)
		invert := r.mask&event.Barrier != 0
		called := false
		if !invert && r.mask&fired&event.Readable != 0 {
			calls = append(calls, b.mCall(fd, r.rh, fired))
			called = true
		}
		if !live() {
			continue
		}
		if r = b.reg(fd); r.mask&fired&event.Writable != 0 && (!called || !r.both) {
			calls = append(calls, b.mCall(fd, r.wh, fired))
			called = true
		}
		if !invert || !live() {
			continue
		}
		if r = b.reg(fd); r.mask&fired&event.Readable != 0 && (!called || !r.both) {
			calls = append(calls, b.mCall(fd, r.rh, fired))
		}
	}
	return calls
}

// Timers: each callback and finalizer checks the model as it runs.

func (b *fzLoop) timerProc(l *Loop, id int64, _ any) time.Duration {
	now := time.Now()
	tm := b.timers[id]
	switch {
	case tm.deleted:
		b.h.errorf(b, "timer %d ran after it was deleted", id)
	case now.Before(tm.earliest):
		b.h.errorf(b, "timer %d ran %v before it was due", id, tm.earliest.Sub(now))
	case b.closing:
		b.h.errorf(b, "timer %d ran during Close", id)
	}
	b.log = append(b.log, fzCall{kind: 't', id: int(id)})
	tm.runs++
	tm.running = true
	defer func() { tm.running = false }()
	d := NoMore
	switch tm.act.kind {
	case 'p':
		d = tm.act.d
	case 's':
		if err := l.DelTimer(id); err != nil {
			b.h.errorf(b, "timer %d deleting itself: %v", id, err)
		}
		b.delete(tm)
		d = tm.act.d
	case 'x':
		want := "ErrNoTimer"
		if x := tm.act.target; x < int64(len(b.timers)) && !b.timers[x].deleted {
			want = "nil"
			b.delete(b.timers[x])
		}
		if got := fzClass(l.DelTimer(tm.act.target)); got != want {
			b.h.errorf(b, "timer %d: DelTimer(%d) = %s, model %s", id, tm.act.target, got, want)
		}
	}
	if d == NoMore {
		b.delete(tm)
	}
	tm.earliest = time.Now().Add(d) // the loop reads its clock after the return
	tm.dueBy = time.Time{}          // known when the ProcessEvents call returns
	return d
}

func (b *fzLoop) delete(tm *fzTimer) {
	if !tm.deleted {
		tm.deleted, tm.delSeq = true, b.seq
	}
}

func (b *fzLoop) finalizer(_ *Loop, data any) {
	id := data.(int64)
	tm := b.timers[id]
	switch {
	case tm.running:
		b.h.errorf(b, "timer %d finalized while its callback runs", id)
	case !tm.deleted && !b.closing:
		b.h.errorf(b, "timer %d finalized while live", id)
	}
	if tm.fins++; tm.fins > 1 {
		b.h.errorf(b, "timer %d finalized %d times", id, tm.fins)
	}
}
