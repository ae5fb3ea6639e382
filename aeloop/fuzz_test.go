//go:build unix

package aeloop

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/tests/fdmodel"
)

// FuzzLoop reads its input as a script of 4-byte operations (op, a, b, c)
// and runs it on one Loop per backend at once, the same fds registered in
// each: socketpairs and pipes are created, written, drained, shut down and
// closed; AddEvent and DelEvent take random masks (Barrier included) and
// handlers that record their calls and may delete their own or another
// fd's bits, delete and re-add their fd, or resize the loop; timers with
// small delays are added and deleted; ProcessEvents runs with varied flags.
//
// Each backend is checked against a reference model after every step:
//   - the poll reports exactly the registered fds that the kernel model
//     says are ready, once each, with those bits;
//   - given the order the backend reported them in, the handler calls are
//     exactly the model's (ae's rules: read before write, write first with
//     Barrier, nothing after DelEvent, a stale entry dropped even if the fd
//     is added again, one call when one proc serves both), preceded by the
//     hooks and followed by the posted functions and the timers;
//   - error classes of AddEvent, ResizeSetSize and DelTimer, GetEvents,
//     GetClientData and timer ids (counting up, never reused) are the
//     model's, so the backends agree with each other too;
//   - a timer never runs before its due time (monotonic clock), one that is
//     surely due runs, a deleted one never runs again, and each finalizer
//     runs exactly once, never while its callback runs.
//
// A script that hangs panics after 10 s, with every goroutine's stack.
//
//	go test -run '^$' -fuzz '^FuzzLoop$' -fuzztime 20s ./aeloop
func FuzzLoop(f *testing.F) {
	for _, seed := range fzSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) > fzMaxScript {
			script = script[:fzMaxScript]
		}
		dog := time.AfterFunc(10*time.Second, func() {
			debug.SetTraceback("all") // the loop's goroutine too, where the script is stuck
			panic(fmt.Sprintf("FuzzLoop: script hangs: %q", script))
		})
		defer dog.Stop()
		h := fzNew(t)
		defer h.close()
		for pc := 0; pc < len(script); pc += 4 {
			arg := func(k int) int {
				if pc+k < len(script) {
					return int(script[pc+k])
				}
				return 0
			}
			h.step(pc/4, script[pc]%fzOps, arg(1), arg(2), arg(3))
			if t.Failed() {
				t.Fatalf("diverged at operation %d of %q", pc/4, script)
			}
		}
	})
}

// fzTrace logs every ProcessEvents step: AEMUX_FUZZ_TRACE=1 go test -v
// -run FuzzLoop/seed ./aeloop
var fzTrace = os.Getenv("AEMUX_FUZZ_TRACE") != ""

const (
	fzMaxScript = 4 * 128 // operations per script
	fzMaxEnds   = 16      // open fds at a time
	fzSetSize   = 64      // initial set size
	fzReAdd     = 1 << 20 // added to a handler id for the handler its re-add installs
)

// The script's operations.
const (
	fzSocketpair = iota
	fzPipe
	fzWrite
	fzDrain
	fzShutdown
	fzClose
	fzAddEvent
	fzDelEvent
	fzAddTimer
	fzDelTimer
	fzProcess
	fzResize
	fzPost
	fzSetDontWait
	fzOps
)

// fzSeeds are scripts that each exercise one rule; FuzzLoop starts from
// them (and from testdata/fuzz/FuzzLoop).
var fzSeeds = [][]byte{
	// socketpair; add R on end 0; write to end 1; process; drain; process
	fzScript(fzSocketpair, 0, 0, 0, fzAddEvent, 0, 1, 0, fzWrite, 1, 3, 0, fzProcess, 0x0f, 0, 0,
		fzDrain, 0, 0, 0, fzProcess, 0x0f, 0, 0),
	// R and W|Barrier by two handlers on a readable socket: write first
	fzScript(fzSocketpair, 0, 0, 0, fzWrite, 1, 1, 0, fzAddEvent, 0, 1, 0, fzAddEvent, 0, 6, 0,
		fzProcess, 0x1f, 0, 0, fzDelEvent, 0, 2, 0, fzProcess, 0x1f, 0, 0),
	// one proc for both; then a handler that deletes its own write bit
	fzScript(fzSocketpair, 0, 0, 0, fzWrite, 1, 1, 0, fzAddEvent, 0, 3, 0, fzProcess, 0x05, 0, 0,
		fzAddEvent, 0, 2, 2, fzAddEvent, 0, 1, 0, fzProcess, 0x05, 0, 0, fzProcess, 0x05, 0, 0),
	// two ready fds whose handlers delete each other; one re-adds itself
	fzScript(fzSocketpair, 0, 0, 0, fzSocketpair, 0, 0, 0, fzWrite, 1, 1, 0, fzWrite, 3, 1, 0,
		fzAddEvent, 0, 1, 4+7*2, fzAddEvent, 2, 1, 4+7*0, fzAddEvent, 0, 2, 5, fzProcess, 0x05, 0, 0,
		fzProcess, 0x05, 0, 0),
	// timers: NoMore, periodic, self-delete, delete another; a script DelTimer
	fzScript(fzAddTimer, 0, 0, 0, fzAddTimer, 1, 1, 1, fzAddTimer, 0, 2, 2, fzAddTimer, 0, 3, 0,
		fzProcess, 0x0a, 0, 0, fzDelTimer, 1, 0, 0, fzProcess, 0x02, 0, 0, fzProcess, 0x06, 0, 0,
		fzDelTimer, 1, 0, 0, fzAddTimer, 3, 1, 2, fzProcess, 0x02, 0, 0),
	// a periodic timer run by blocking calls: never early
	fzScript(fzAddTimer, 0, 1, 2, fzAddTimer, 1, 1, 1, fzProcess, 0x02, 0, 0, fzProcess, 0x02, 0, 0,
		fzProcess, 0x0a, 0, 0, fzProcess, 0x02, 0, 0, fzDelTimer, 0, 0, 0, fzProcess, 0x02, 0, 0),
	// pipe: write, close the writer (Del first), the reader hangs up
	fzScript(fzPipe, 0, 0, 0, fzAddEvent, 0, 3, 0, fzAddEvent, 1, 2, 0, fzWrite, 1, 5, 0,
		fzProcess, 0x1d, 0, 0, fzClose, 1, 0, 0, fzProcess, 0x1d, 0, 0, fzDrain, 0, 0, 0, fzProcess, 0x1d, 0, 0),
	// resize below and above a registered fd, from the script and a handler
	fzScript(fzSocketpair, 0, 0, 0, fzAddEvent, 0, 2, 6, fzResize, 0, 1, 0, fzResize, 2, 0, 0,
		fzResize, 200, 1, 0, fzProcess, 0x05, 0, 0, fzAddEvent, 1, 2, 6+7*3, fzProcess, 0x05, 0, 0),
	// posted functions, hooks, SetDontWait, a blocking call with a ready fd
	fzScript(fzPost, 0, 0, 0, fzSocketpair, 0, 0, 0, fzAddEvent, 0, 2, 0, fzSetDontWait, 1, 0, 0,
		fzProcess, 0x19, 0, 0, fzPost, 0, 0, 0, fzSetDontWait, 0, 0, 0, fzProcess, 0x1b, 0, 0,
		fzShutdown, 1, 0, 0, fzAddEvent, 0, 1, 3, fzProcess, 0x03, 0, 0),
}

// fzScript packs operations given as (op, a, b, c) quadruples.
func fzScript(b ...byte) []byte { return b }

// fzAction is what a handler does after recording its call.
type fzAction struct {
	kind   byte // 0 nothing, 'o' DelEvent own bits, 'x' DelEvent another fd's, 'a' delete and re-add, 'z' resize
	mask   event.Mask
	target int // the other fd ('x')
	delta  int // set size change ('z')
}

// fzTimerAct is what a timer callback does.
type fzTimerAct struct {
	kind   byte // 'n' NoMore, 'p' again after d, 's' delete itself then return d, 'x' delete target then NoMore
	d      time.Duration
	target int64
}

// fzReg is the model of one fd's registration in one loop.
type fzReg struct {
	mask   event.Mask
	rh, wh int // handler ids
	both   bool
	gen    int
	data   int
}

// fzTimer is the model of one timer in one loop.
type fzTimer struct {
	act      fzTimerAct
	earliest time.Time // it must not start before (a lower bound of its due time)
	dueBy    time.Time // it is surely due after this (an upper bound)
	deleted  bool
	delSeq   int // the loop's ProcessEvents count when it was deleted
	running  bool
	runs     int
	fins     int
}

// fzCall is one entry of a loop's call log: 'B' before-sleep, 'A'
// after-sleep, 'f' an fd handler (fd, handler id, fired IO bits, result of
// its action), 'P' a posted function (id), 't' a timer callback (id).
type fzCall struct {
	kind byte
	fd   int
	id   int
	mask event.Mask
	res  string
}

func (c fzCall) String() string {
	switch c.kind {
	case 'f':
		s := fmt.Sprintf("fd %d handler %d %v", c.fd, c.id, c.mask)
		if c.res != "" {
			s += " -> " + c.res
		}
		return s
	case 'P', 't':
		return fmt.Sprintf("%c%d", c.kind, c.id)
	}
	return string(c.kind)
}

// fzLoop is one backend's Loop and its model.
type fzLoop struct {
	h        *fzHarness
	name     string
	l        *Loop
	regs     map[int]*fzReg
	setsize  int
	dontWait bool
	gen      int
	seq      int // ProcessEvents calls made
	posts    []int
	timers   []*fzTimer // by id
	log      []fzCall
	closing  bool
}

type fzHarness struct {
	t       *testing.T
	loops   []*fzLoop
	fds     fdmodel.Set
	actions map[int]fzAction // by handler id
	tacts   []fzTimerAct     // by timer id
	posts   int
}

func fzNew(t *testing.T) *fzHarness {
	h := &fzHarness{t: t, actions: map[int]fzAction{}}
	for _, name := range mux.Backends() {
		l, err := CreateLoop(fzSetSize, mux.WithBackend(name))
		if err != nil {
			t.Fatal(err)
		}
		b := &fzLoop{h: h, name: name, l: l, regs: map[int]*fzReg{}, setsize: fzSetSize}
		l.SetBeforeSleep(func(*Loop) { b.log = append(b.log, fzCall{kind: 'B'}) })
		l.SetAfterSleep(func(*Loop) { b.log = append(b.log, fzCall{kind: 'A'}) })
		h.loops = append(h.loops, b)
	}
	return h
}

// close closes every loop, checking that Close runs the posted functions
// still pending and nothing else, and that each timer's finalizer has run
// exactly once by then; then it closes the fds.
func (h *fzHarness) close() {
	for _, b := range h.loops {
		b.closing = true
		b.log = b.log[:0]
		if err := b.l.Close(); err != nil {
			h.t.Errorf("%s: Close: %v", b.name, err)
		}
		var want []fzCall
		for _, id := range b.posts {
			want = append(want, fzCall{kind: 'P', id: id})
		}
		if !slices.Equal(b.log, want) {
			h.t.Errorf("%s: Close called %v; want the pending posted functions %v", b.name, b.log, want)
		}
		for id, tm := range b.timers {
			if tm.fins != 1 {
				h.t.Errorf("%s: timer %d: finalizer ran %d times", b.name, id, tm.fins)
			}
		}
		if err := b.l.Close(); !errors.Is(err, mux.ErrClosed) {
			h.t.Errorf("%s: second Close: %v", b.name, err)
		}
	}
	h.fds.CloseAll()
}

func (h *fzHarness) errorf(b *fzLoop, format string, args ...any) {
	h.t.Helper()
	h.t.Errorf("%s: %s", b.name, fmt.Sprintf(format, args...))
}

// fzClass names an error by the sentinel or errno it matches.
func fzClass(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, mux.ErrRange):
		return "ErrRange"
	case errors.Is(err, mux.ErrBadMask):
		return "ErrBadMask"
	case errors.Is(err, mux.ErrClosed):
		return "ErrClosed"
	case errors.Is(err, ErrNoTimer):
		return "ErrNoTimer"
	case errors.Is(err, unix.EBADF):
		return "EBADF"
	}
	return "other: " + err.Error()
}

// step runs one operation on every loop and checks each against its model.
func (h *fzHarness) step(opIndex int, op byte, a, b, c int) {
	t := h.t
	switch op {
	case fzSocketpair, fzPipe:
		if len(h.fds.Live()) >= fzMaxEnds {
			return
		}
		create := h.fds.Socketpair
		if op == fzPipe {
			create = h.fds.Pipe
		}
		if err := create(); err != nil {
			t.Fatal(err)
		}
	case fzWrite:
		if e := h.fds.Pick(a); e != nil && e.CanWrite() {
			if err := h.fds.Write(e, b%32+1); err != nil {
				t.Fatal(err)
			}
		}
	case fzDrain:
		if e := h.fds.Pick(a); e != nil && e.Kind != 'w' {
			if err := h.fds.Drain(e); err != nil {
				t.Fatal(err)
			}
		}
	case fzShutdown:
		if e := h.fds.Pick(a); e != nil && e.Kind == 's' && !e.WrShut {
			if err := h.fds.Shutdown(e); err != nil {
				t.Fatal(err)
			}
		}
	case fzClose: // DelEvent everywhere first: closing a registered fd is outside the contract
		e := h.fds.Pick(a)
		if e == nil {
			return
		}
		for _, lb := range h.loops {
			lb.l.DelEvent(e.Num, event.Registrable)
			lb.mDel(e.Num, event.Registrable)
		}
		h.fds.Close(e)
	case fzAddEvent:
		fd := h.fds.ClosedNumber()
		if e := h.fds.Pick(a); e != nil && a < 240 {
			fd = e.Num
		}
		if fd < 0 {
			return
		}
		mask := event.Mask(b % 8)
		if b >= 248 {
			mask |= event.Hangup // refused: report-only
		}
		hid := opIndex + 1
		act := fzAction{}
		switch c % 7 {
		case 1, 2, 3:
			act = fzAction{kind: 'o', mask: event.Mask(c % 7)}
		case 4:
			if x := h.fds.Pick(c / 7); x != nil {
				act = fzAction{kind: 'x', target: x.Num, mask: event.Mask(c/7%3 + 1)}
			}
		case 5:
			act = fzAction{kind: 'a'}
		case 6:
			act = fzAction{kind: 'z', delta: []int{-40, -8, 8, 40}[c/7%4]}
		}
		h.actions[hid] = act
		for _, lb := range h.loops {
			got := fzClass(lb.l.AddEvent(fd, mask, lb.handler(hid), hid))
			if want := lb.mAdd(fd, mask, hid); got != want {
				h.errorf(lb, "AddEvent(%d, %v) = %s, model %s", fd, mask, got, want)
			}
		}
	case fzDelEvent:
		e := h.fds.Pick(a)
		if e == nil {
			return
		}
		mask := event.Mask(b % 8)
		for _, lb := range h.loops {
			lb.l.DelEvent(e.Num, mask)
			lb.mDel(e.Num, mask)
		}
	case fzAddTimer:
		delays := []time.Duration{0, 20 * time.Microsecond, 100 * time.Microsecond, 400 * time.Microsecond}
		act := fzTimerAct{kind: "npsx"[b%4], d: delays[c%4], target: int64(c % (len(h.tacts) + 2))}
		id := int64(len(h.tacts))
		h.tacts = append(h.tacts, act)
		for _, lb := range h.loops {
			before := time.Now()
			tm := &fzTimer{act: act, earliest: before.Add(delays[a%4])}
			lb.timers = append(lb.timers, tm)
			got, err := lb.l.AddTimer(delays[a%4], lb.timerProc, id, lb.finalizer)
			tm.dueBy = time.Now().Add(delays[a%4])
			if err != nil || got != id {
				h.errorf(lb, "AddTimer: id %d, %v; want id %d (ids count up from 0, never reused)", got, err, id)
			}
		}
	case fzDelTimer:
		id := int64(a % (len(h.tacts) + 2))
		for _, lb := range h.loops {
			want := "ErrNoTimer"
			if id < int64(len(lb.timers)) && !lb.timers[id].deleted {
				want = "nil"
				lb.delete(lb.timers[id])
			}
			if got := fzClass(lb.l.DelTimer(id)); got != want {
				h.errorf(lb, "DelTimer(%d) = %s, model %s", id, got, want)
			}
		}
	case fzProcess:
		h.process(a)
	case fzResize:
		for _, lb := range h.loops {
			n := a
			if b%2 == 1 {
				n = lb.setsize + a%64 - 32
			}
			got := fzClass(lb.l.ResizeSetSize(n))
			if want := lb.mResize(n); got != want {
				h.errorf(lb, "ResizeSetSize(%d) = %s, model %s", n, got, want)
			}
		}
	case fzPost:
		h.posts++
		id := h.posts
		for _, lb := range h.loops {
			if err := lb.l.Post(func(*Loop) { lb.log = append(lb.log, fzCall{kind: 'P', id: id}) }); err != nil {
				h.errorf(lb, "Post: %v", err)
			}
			lb.posts = append(lb.posts, id)
		}
	case fzSetDontWait:
		for _, lb := range h.loops {
			lb.l.SetDontWait(a%2 == 1)
			lb.dontWait = a%2 == 1
		}
	}
	h.checkTables()
}

// checkTables compares GetEvents, GetClientData and SetSize with the
// models, for every number the script has used.
func (h *fzHarness) checkTables() {
	for _, lb := range h.loops {
		if got := lb.l.SetSize(); got != lb.setsize {
			h.errorf(lb, "SetSize() = %d, model %d", got, lb.setsize)
		}
		for _, e := range h.fds.Ends {
			r := lb.reg(e.Num)
			if got := lb.l.GetEvents(e.Num); got != r.mask {
				h.errorf(lb, "GetEvents(%d) = %v, model %v", e.Num, got, r.mask)
			}
			var want any
			if r.mask != event.None {
				want = r.data
			}
			if got := lb.l.GetClientData(e.Num); got != want {
				h.errorf(lb, "GetClientData(%d) = %v, model %v", e.Num, got, want)
			}
		}
	}
}

// process runs ProcessEvents with the flags in a on every loop and checks
// what each did.
func (h *fzHarness) process(a int) {
	flags := a & (AllEvents | DontWait | CallBeforeSleep | CallAfterSleep)
	if flags&DontWait == 0 && !h.returnsSoon(flags) {
		flags |= DontWait
	}
	for _, lb := range h.loops {
		lb.process(flags)
	}
}

// returnsSoon reports whether a ProcessEvents(flags) without DontWait
// returns within milliseconds on every loop: a registered fd is ready, or a
// timer is pending, or the call does not poll.
func (h *fzHarness) returnsSoon(flags int) bool {
	for _, lb := range h.loops {
		if lb.dontWait || !lb.polls(flags) || len(lb.expectReady()) > 0 {
			continue
		}
		timer := false
		for _, tm := range lb.timers {
			timer = timer || !tm.deleted
		}
		if flags&TimeEvents == 0 || !timer {
			return false
		}
	}
	return true
}

// polls reports whether ProcessEvents(flags) polls, by the model.
func (b *fzLoop) polls(flags int) bool {
	if flags&(FileEvents|TimeEvents) == 0 {
		return false
	}
	return len(b.regs) > 0 || (flags&TimeEvents != 0 && flags&DontWait == 0)
}

// expectReady is what a poll must report: each registered fd that the
// kernel model says is ready for some of its registered bits.
func (b *fzLoop) expectReady() map[int]event.Mask {
	want := map[int]event.Mask{}
	for fd, r := range b.regs {
		e := b.h.fds.Lookup(fd)
		if e == nil {
			if r.mask&event.IO != 0 {
				b.h.errorf(b, "the model has closed fd %d registered", fd)
			}
			continue
		}
		if m := e.Ready() & r.mask & event.IO; m != 0 {
			want[fd] = m
		}
	}
	return want
}

func (b *fzLoop) process(flags int) {
	h := b.h
	polls := b.polls(flags)
	ready := b.expectReady()
	gensAtPoll := map[int]int{}
	for fd, r := range b.regs {
		gensAtPoll[fd] = r.gen
	}
	runsBefore := make([]int, len(b.timers))
	for id, tm := range b.timers {
		runsBefore[id] = tm.runs
	}
	b.seq++
	b.log = b.log[:0]
	start := time.Now()
	n, err := b.l.ProcessEvents(flags)
	end := time.Now()
	if err != nil {
		h.errorf(b, "ProcessEvents(%#x): %v", flags, err)
		return
	}

	// Split the log: hooks, fd handlers, posted functions, timers, in
	// this order.
	var hooks, files, posts, timers []fzCall
	stage := 0
	for _, c := range b.log {
		s := strings.IndexByte("BAfPt", c.kind)
		if s < stage {
			h.errorf(b, "ProcessEvents(%#x) called %v out of order: %v", flags, c, b.log)
			return
		}
		stage = s
		switch c.kind {
		case 'B', 'A':
			hooks = append(hooks, c)
		case 'f':
			files = append(files, c)
		case 'P':
			posts = append(posts, c)
		case 't':
			timers = append(timers, c)
		}
	}
	var wantHooks []fzCall
	if polls && flags&CallBeforeSleep != 0 {
		wantHooks = append(wantHooks, fzCall{kind: 'B'})
	}
	if polls && flags&CallAfterSleep != 0 {
		wantHooks = append(wantHooks, fzCall{kind: 'A'})
	}
	if !slices.Equal(hooks, wantHooks) {
		h.errorf(b, "ProcessEvents(%#x) hooks %v, model %v", flags, hooks, wantHooks)
	}

	// The batch the loop polled, in the backend's order.
	nFile := n - len(timers)
	var batch []event.Fired
	if nFile > 0 {
		if len(b.l.batches) == 0 || nFile > len(b.l.batches[0].fired) {
			h.errorf(b, "ProcessEvents(%#x) = %d with %d timer calls: more entries than it polled", flags, n, len(timers))
			return
		}
		batch = b.l.batches[0].fired[:nFile]
	}
	if nFile < 0 {
		h.errorf(b, "ProcessEvents(%#x) = %d with %d timer calls", flags, n, len(timers))
		return
	}
	if !polls || flags&FileEvents == 0 {
		ready = map[int]event.Mask{}
	}
	got := map[int]event.Mask{}
	for _, f := range batch {
		if _, dup := got[f.Fd]; dup {
			h.errorf(b, "the poll reported fd %d twice: %v", f.Fd, batch)
		}
		got[f.Fd] = f.Mask & event.IO
	}
	if fmt.Sprint(fzSorted(got)) != fmt.Sprint(fzSorted(ready)) {
		h.errorf(b, "ProcessEvents(%#x) polled %v, model %v", flags, fzSorted(got), fzSorted(ready))
		return
	}
	gens := make([]int, len(batch))
	for j, f := range batch {
		gens[j] = gensAtPoll[f.Fd]
	}
	if fzTrace {
		h.t.Logf("%s: ProcessEvents(%#x) = %d: batch %v, calls %v", b.name, flags, n, batch, b.log)
	}
	if want := b.mDispatch(batch, gens); !slices.Equal(files, want) {
		h.errorf(b, "batch %v: handler calls\n\t%v\nmodel\n\t%v", batch, files, want)
	}

	// Posted functions: every one pending, in order, in any call with
	// FileEvents or TimeEvents.
	var wantPosts []fzCall
	if flags&(FileEvents|TimeEvents) != 0 {
		for _, id := range b.posts {
			wantPosts = append(wantPosts, fzCall{kind: 'P', id: id})
		}
		b.posts = b.posts[:0]
	}
	if !slices.Equal(posts, wantPosts) {
		h.errorf(b, "posted functions run: %v, model %v", posts, wantPosts)
	}

	// Timers: each checked itself as it ran; here, those that surely were
	// due ran, rescheduled ones get their due bound, and every timer
	// deleted before this call is finalized.
	if flags&TimeEvents == 0 && len(timers) > 0 {
		h.errorf(b, "ProcessEvents(%#x) without TimeEvents ran timers %v", flags, timers)
	}
	for id, tm := range b.timers {
		if id >= len(runsBefore) {
			continue
		}
		ran := tm.runs > runsBefore[id]
		if flags&TimeEvents != 0 && !ran && !tm.deleted && !tm.dueBy.IsZero() && tm.dueBy.Before(start) {
			h.errorf(b, "timer %d was due %v before ProcessEvents(%#x) and did not run", id, start.Sub(tm.dueBy), flags)
		}
		if ran && !tm.deleted {
			tm.dueBy = end.Add(tm.act.d)
		}
		if flags&TimeEvents != 0 && tm.deleted && tm.delSeq < b.seq && tm.fins != 1 {
			h.errorf(b, "timer %d deleted before ProcessEvents(%#x): finalizer ran %d times", id, flags, tm.fins)
		}
	}
}

func fzSorted(m map[int]event.Mask) []event.Fired {
	var l []event.Fired
	for fd, mk := range m {
		l = append(l, event.Fired{Fd: fd, Mask: mk})
	}
	slices.SortFunc(l, func(x, y event.Fired) int { return x.Fd - y.Fd })
	return l
}
