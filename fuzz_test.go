//go:build unix

package mux_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/tests/fdmodel"
)

// FuzzPollers reads its input as a script of operations on socketpairs and
// pipes, runs it on every backend at once (the same fds registered in one
// Poller per backend) and compares each step's observable result — the
// error class of Add/Del/Resize and the set of (fd, Readable/Writable) that
// Wait(0) reports — across the backends and with a reference model of the
// kernel's readiness rules for AF_UNIX stream sockets and pipes. An input
// that runs longer than fuzzHangAfter panics with every goroutine's stack
// (watchHang).
//
//	go test -run '^$' -fuzz FuzzPollers -fuzztime 20s .
func FuzzPollers(f *testing.F) {
	for _, seed := range [][]byte{
		{0, 0, 5, 1, 7, 2, 1, 7, 3, 0, 7},                   // pair, add R, wait, write, wait, drain, wait
		{0, 0, 5, 3, 7, 4, 1, 7, 6, 1, 7},                   // pair, add R|W, shutdown, wait, del R, wait
		{1, 0, 5, 1, 5, 4, 7, 2, 2, 7, 9, 0, 7},             // pipe, write, close writer
		{0, 0, 0, 1, 5, 1, 5, 10, 8, 0, 8, 255, 7},          // resize below and above
		{0, 0, 5, 1, 1, 0, 0, 0, 0, 0, 5, 3, 2, 3, 7, 9, 7}, // close pair while registered (after Del)
		{0, 0, 5, 1, 10, 7, 5, 1, 7},                        // add on a closed number: EBADF everywhere
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) > 600 {
			script = script[:600]
		}
		// A hang is a finding too: crash with the script and the stacks
		// rather than stall. at is the operation running: -1 while the
		// Pollers open, len(script)/3 while everything closes.
		var at atomic.Int64
		at.Store(-1)
		defer watchHang(fuzzHangAfter, func() string {
			return fmt.Sprintf("FuzzPollers: operation %d of script %v", at.Load(), script)
		})()
		h := newHarness(t)
		defer func() { at.Store(int64(len(script)+2) / 3); h.close() }()
		for pc := 0; pc < len(script); {
			at.Store(int64(pc / 3))
			op := script[pc] % 11
			arg := func(k int) int {
				if pc+k < len(script) {
					return int(script[pc+k])
				}
				return 0
			}
			h.step(op, arg(1), arg(2))
			pc += 3
			if t.Failed() {
				t.Fatalf("diverged at op %d of %v", pc/3, script)
			}
		}
	})
}

// fuzzHangAfter bounds one input of FuzzPollers. An input takes
// milliseconds: over libkqueue, with all three backends, the longest of
// 415,906 (19 fuzzing runs of 20 s on the shared 2-core VM, 2026-12-06)
// took 162 ms, so one still running after 5 s hangs.
const fuzzHangAfter = 5 * time.Second

// watchHang starts a watchdog and returns the function that stops it. If
// that is not called within d, the watchdog panics with what() and every
// goroutine's stack, the blocked one included.
//
// Under go test -fuzz the panic ends the worker process: go's fuzzer then
// reports "fuzzing process hung or terminated unexpectedly" and writes the
// input to testdata/fuzz, where an input still running at the end of
// -fuzztime would be killed without a word. The fuzzer discards a worker's
// output, so the stacks show when the written input is run again (go test
// -run=FuzzPollers/ID, which .ci/run does).
func watchHang(d time.Duration, what func() string) (stop func()) {
	dog := time.AfterFunc(d, func() {
		debug.SetTraceback("all")
		panic(fmt.Sprintf("%s: still running after %v; every goroutine's stack follows", what(), d))
	})
	return func() { dog.Stop() }
}

// TestWatchHang runs a hang under watchHang in a child process (this test
// binary again) and checks that the child dies with the watchdog's message
// and the stack of the goroutine that hangs, not only the watchdog's own.
func TestWatchHang(t *testing.T) {
	if os.Getenv("AEMUX_WATCHHANG_CHILD") == "1" {
		defer watchHang(100*time.Millisecond, func() string { return "hang under test" })()
		hangForWatchHang()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWatchHang$", "-test.count=1")
	cmd.Env = append(os.Environ(), "AEMUX_WATCHHANG_CHILD=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the child still ran after 60 s, its watchdog did not fire:\n%s", out)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("child: %v, want exit status 2 (a panic); output:\n%s", err, out)
	}
	for _, want := range []string{
		"panic: hang under test: still running after 100ms",
		"mux_test.hangForWatchHang(", // the blocked goroutine's stack
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child's output lacks %q:\n%s", want, out)
		}
	}
}

// hangForWatchHang blocks for good, under a name TestWatchHang looks for.
func hangForWatchHang() {
	select {}
}

type harness struct {
	t       *testing.T
	pollers []*mux.Poller
	fds     fdmodel.Set
	masks   map[*fdmodel.End]event.Mask // the model of each Poller's mask table
	setsize int
	fired   []event.Fired
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, setsize: 4096, fired: make([]event.Fired, 64), masks: map[*fdmodel.End]event.Mask{}}
	for _, name := range mux.Backends() {
		p, err := mux.Open(h.setsize, mux.WithBackend(name))
		if err != nil {
			t.Fatal(err)
		}
		h.pollers = append(h.pollers, p)
	}
	return h
}

func (h *harness) close() {
	h.fds.CloseAll()
	for _, p := range h.pollers {
		p.Close()
	}
}

// errClass names an error by the sentinel or errno it matches.
func errClass(err error) string {
	for _, c := range []struct {
		name   string
		target error
	}{
		{"nil", nil}, {"ErrRange", mux.ErrRange}, {"ErrBadMask", mux.ErrBadMask},
		{"ErrClosed", mux.ErrClosed}, {"ErrNotPollable", mux.ErrNotPollable}, {"EBADF", unix.EBADF},
	} {
		if err == c.target || (c.target != nil && errors.Is(err, c.target)) {
			return c.name
		}
	}
	return "other: " + err.Error()
}

// each runs op on every Poller and checks they agree with want.
func (h *harness) each(what string, want string, op func(p *mux.Poller) error) {
	for _, p := range h.pollers {
		if got := errClass(op(p)); got != want {
			h.t.Errorf("%s on %s: got %s, want %s", what, p.Name(), got, want)
		}
	}
}

func (h *harness) step(op byte, a, b int) {
	t := h.t
	switch op {
	case 0, 1: // create a socketpair or a pipe
		if len(h.fds.Live()) >= 16 {
			return
		}
		create := h.fds.Socketpair
		if op == 1 {
			create = h.fds.Pipe
		}
		if err := create(); err != nil {
			t.Fatal(err)
		}
	case 2: // write 1..64 bytes
		if m := h.fds.Pick(a); m != nil && m.CanWrite() {
			if err := h.fds.Write(m, b%64+1); err != nil {
				t.Fatal(err)
			}
		}
	case 3: // drain
		if m := h.fds.Pick(a); m != nil && m.Kind != 'w' {
			if err := h.fds.Drain(m); err != nil {
				t.Fatal(err)
			}
		}
	case 4: // shutdown(SHUT_WR)
		if m := h.fds.Pick(a); m != nil && m.Kind == 's' && !m.WrShut {
			if err := h.fds.Shutdown(m); err != nil {
				t.Fatal(err)
			}
		}
	case 5, 6: // Add or Del a mask (unknown bits included now and then)
		m := h.fds.Pick(a)
		if m == nil {
			return
		}
		mask := event.Mask(b % 8)
		if b >= 250 {
			mask |= event.Hangup
		}
		want := "nil"
		if m.Num >= h.setsize {
			want = "ErrRange"
		} else if mask&^event.IO != 0 {
			want = "ErrBadMask"
		}
		if op == 5 {
			h.each(fmt.Sprintf("Add(%d, %v)", m.Num, mask), want, func(p *mux.Poller) error { return p.Add(m.Num, mask) })
			if want == "nil" {
				h.masks[m] |= mask
			}
		} else {
			h.each(fmt.Sprintf("Del(%d, %v)", m.Num, mask), want, func(p *mux.Poller) error { return p.Del(m.Num, mask) })
			if want == "nil" {
				h.masks[m] &^= mask
			}
		}
		for _, p := range h.pollers {
			if got := p.Mask(m.Num); got != h.masks[m] {
				t.Errorf("%s: Mask(%d) = %v, model %v", p.Name(), m.Num, got, h.masks[m])
			}
		}
	case 7: // Wait(0): every backend reports what the model says
		want := map[int]event.Mask{}
		for _, m := range h.fds.Live() {
			if r := m.Ready() & h.masks[m] & event.IO; r != 0 {
				want[m.Num] = r
			}
		}
		for _, p := range h.pollers {
			n, err := p.Wait(h.fired, 0)
			if err != nil {
				t.Fatalf("%s: Wait: %v", p.Name(), err)
			}
			got := map[int]event.Mask{}
			for _, f := range h.fired[:n] {
				if _, dup := got[f.Fd]; dup {
					t.Errorf("%s: fd %d reported twice", p.Name(), f.Fd)
				}
				got[f.Fd] = f.Mask & event.IO
			}
			if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
				t.Errorf("%s: Wait(0) = %v, model %v", p.Name(), sorted(got), sorted(want))
			}
		}
	case 8: // Resize
		n := a*16 + b%16 + 1
		want, maxReg := "nil", -1
		for _, m := range h.fds.Live() {
			if h.masks[m] != event.None && m.Num > maxReg {
				maxReg = m.Num
			}
		}
		if maxReg >= n {
			want = "ErrRange"
		}
		h.each(fmt.Sprintf("Resize(%d)", n), want, func(p *mux.Poller) error { return p.Resize(n) })
		if want == "nil" {
			h.setsize = n
		}
	case 9: // Del everything, then close one end
		m := h.fds.Pick(a)
		if m == nil {
			return
		}
		want := "nil"
		if m.Num >= h.setsize {
			want = "ErrRange"
		}
		h.each(fmt.Sprintf("Del(%d) before close", m.Num), want, func(p *mux.Poller) error {
			return p.Del(m.Num, event.IO)
		})
		h.masks[m] = event.None
		h.fds.Close(m)
	case 10: // Add on a number that is closed now: EBADF (or a range error)
		num := h.fds.ClosedNumber()
		if num < 0 {
			return
		}
		want := "EBADF"
		if num >= h.setsize {
			want = "ErrRange"
		}
		h.each(fmt.Sprintf("Add(closed %d)", num), want, func(p *mux.Poller) error {
			return p.Add(num, event.Readable)
		})
	}
}

func sorted(m map[int]event.Mask) []event.Fired {
	var l []event.Fired
	for fd, mk := range m {
		l = append(l, event.Fired{Fd: fd, Mask: mk})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].Fd < l[j].Fd })
	return l
}
