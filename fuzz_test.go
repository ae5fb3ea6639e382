package mux_test

import (
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

// FuzzPollers reads its input as a script of operations on socketpairs and
// pipes, runs it on every backend at once (the same fds registered in one
// Poller per backend) and compares each step's observable result — the
// error class of Add/Del/Resize and the set of (fd, Readable/Writable) that
// Wait(0) reports — across the backends and with a reference model of the
// kernel's readiness rules for AF_UNIX stream sockets and pipes.
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
		// A hang is a finding too: crash with the script rather than stall.
		dog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("script hangs: %v", script)) })
		defer dog.Stop()
		h := newHarness(t)
		defer h.close()
		for pc := 0; pc < len(script); {
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

// modelFd is the reference model's view of one descriptor.
type modelFd struct {
	num      int
	kind     byte // 's' socket end, 'r' pipe read end, 'w' pipe write end
	peer     *modelFd
	open     bool
	buffered int  // bytes waiting to be read on this end
	rdShut   bool // nothing more will arrive (peer shut down writing or closed)
	wrShut   bool // this end shut down writing
	mask     event.Mask
}

// readiness is what poll(2)'s rules say this end is ready for.
func (m *modelFd) readiness() event.Mask {
	var r event.Mask
	switch m.kind {
	case 's':
		if m.buffered > 0 || m.rdShut {
			r |= event.Readable
		}
		r |= event.Writable // writes stay small, far below the buffer size
		if m.rdShut && m.wrShut {
			r |= event.Readable | event.Writable // POLLHUP
		}
	case 'r':
		if m.buffered > 0 {
			r |= event.Readable
		}
		if !m.peer.open {
			r |= event.Readable | event.Writable // POLLHUP
		}
	case 'w':
		r |= event.Writable
		if !m.peer.open {
			r |= event.Readable | event.Writable // POLLERR
		}
	}
	return r
}

type harness struct {
	t       *testing.T
	pollers []*mux.Poller
	fds     []*modelFd
	setsize int
	fired   []event.Fired
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, setsize: 4096, fired: make([]event.Fired, 64)}
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
	for _, m := range h.fds {
		if m.open {
			unix.Close(m.num)
		}
	}
	for _, p := range h.pollers {
		p.Close()
	}
}

func (h *harness) live() []*modelFd {
	var l []*modelFd
	for _, m := range h.fds {
		if m.open {
			l = append(l, m)
		}
	}
	return l
}

func (h *harness) pick(a int) *modelFd {
	l := h.live()
	if len(l) == 0 {
		return nil
	}
	return l[a%len(l)]
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
		if len(h.live()) >= 16 {
			return
		}
		var x, y *modelFd
		if op == 0 {
			a, b, err := fdtest.Socketpair()
			if err != nil {
				t.Fatal(err)
			}
			x, y = &modelFd{num: a, kind: 's', open: true}, &modelFd{num: b, kind: 's', open: true}
		} else {
			r, w, err := fdtest.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			x, y = &modelFd{num: r, kind: 'r', open: true}, &modelFd{num: w, kind: 'w', open: true}
		}
		x.peer, y.peer = y, x
		h.fds = append(h.fds, x, y)
	case 2: // write 1..64 bytes
		m := h.pick(a)
		if m == nil || m.kind == 'r' || m.wrShut || !m.peer.open || m.peer.buffered > 4096 {
			return
		}
		n := b%64 + 1
		if k, err := unix.Write(m.num, make([]byte, n)); err != nil || k != n {
			t.Fatalf("write: %d %v", k, err)
		}
		m.peer.buffered += n
	case 3: // drain
		m := h.pick(a)
		if m == nil || m.kind == 'w' {
			return
		}
		buf := make([]byte, 8192)
		for m.buffered > 0 {
			k, err := unix.Read(m.num, buf)
			if err != nil || k <= 0 {
				t.Fatalf("read: %d %v with %d buffered", k, err, m.buffered)
			}
			m.buffered -= k
		}
	case 4: // shutdown(SHUT_WR)
		m := h.pick(a)
		if m == nil || m.kind != 's' || m.wrShut {
			return
		}
		if err := unix.Shutdown(m.num, unix.SHUT_WR); err != nil {
			t.Fatal(err)
		}
		m.wrShut = true
		m.peer.rdShut = true
	case 5, 6: // Add or Del a mask (unknown bits included now and then)
		m := h.pick(a)
		if m == nil {
			return
		}
		mask := event.Mask(b % 8)
		if b >= 250 {
			mask |= event.Hangup
		}
		want := "nil"
		if m.num >= h.setsize {
			want = "ErrRange"
		} else if mask&^event.Registrable != 0 {
			want = "ErrBadMask"
		}
		if op == 5 {
			h.each(fmt.Sprintf("Add(%d, %v)", m.num, mask), want, func(p *mux.Poller) error { return p.Add(m.num, mask) })
			if want == "nil" {
				m.mask |= mask
			}
		} else {
			h.each(fmt.Sprintf("Del(%d, %v)", m.num, mask), want, func(p *mux.Poller) error { return p.Del(m.num, mask) })
			if want == "nil" {
				if mask&event.Writable != 0 {
					mask |= event.Barrier
				}
				if m.mask &^= mask; m.mask&event.IO == 0 {
					m.mask = event.None
				}
			}
		}
		for _, p := range h.pollers {
			if got := p.Mask(m.num); got != m.mask {
				t.Errorf("%s: Mask(%d) = %v, model %v", p.Name(), m.num, got, m.mask)
			}
		}
	case 7: // Wait(0): every backend reports what the model says
		want := map[int]event.Mask{}
		for _, m := range h.live() {
			if r := m.readiness() & m.mask & event.IO; r != 0 {
				want[m.num] = r
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
		for _, m := range h.live() {
			if m.mask != event.None && m.num > maxReg {
				maxReg = m.num
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
		m := h.pick(a)
		if m == nil {
			return
		}
		want := "nil"
		if m.num >= h.setsize {
			want = "ErrRange"
		}
		h.each(fmt.Sprintf("Del(%d) before close", m.num), want, func(p *mux.Poller) error {
			return p.Del(m.num, event.Registrable)
		})
		m.mask = event.None
		unix.Close(m.num)
		m.open = false
		m.buffered = 0
		m.peer.rdShut = true
		m.peer.wrShut = m.peer.kind == 's' || m.peer.wrShut // a closed unix peer shuts both ways
	case 10: // Add on a number that is closed now: EBADF (or a range error)
		for _, m := range h.fds {
			if m.open {
				continue
			}
			reused := false
			for _, l := range h.live() {
				reused = reused || l.num == m.num
			}
			if reused {
				continue
			}
			want := "EBADF"
			if m.num >= h.setsize {
				want = "ErrRange"
			}
			h.each(fmt.Sprintf("Add(closed %d)", m.num), want, func(p *mux.Poller) error {
				return p.Add(m.num, event.Readable)
			})
			return
		}
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
