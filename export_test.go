package mux

import (
	"fmt"
	"slices"
	"time"

	"github.com/aemux/mux/event"
)

// Test backends for the conformance suite's self-test (selftest_test.go):
// wrappers around the default backend, each either deliberately broken in
// one way, which tests.RunPoller must catch, or odd in ways the backend
// contract allows, which it must accept. They are registered only while a
// test uses them (UseTestBackend), so the other tests of this package,
// which iterate over Backends(), never see them.

// BrokenBackend is a deliberately broken test backend and the RunPoller
// subtest that must catch it.
type BrokenBackend struct {
	Name     string // the name to pass to WithBackend once registered
	What     string // what is wrong with it
	CaughtBy string // the RunPoller subtest that fails on it
}

// BrokenBackends lists the broken test backends.
var BrokenBackends = []BrokenBackend{
	{"broken-dup", "reports every event twice in one wait", "Readiness/FreshSocketpair"},
	{"broken-phantom", "invents a Readable|Writable event for an idle registered fd", "Readiness/FreshSocketpair"},
	{"broken-nodel", "ignores deregistration, so the kernel keeps reporting the fd", "Register/DelPartOfMask"},
	{"broken-early", "ends timed waits at a quarter of the timeout, claiming a wake-up", "Wait/TimedWaitNeverEarly"},
	{"broken-nowake", "does nothing on wake", "Wait/WakeBeforeWait"},
	{"broken-leak", "releases no kernel fd on close", "Lifetime/CloexecNoLeak"},
}

// OddBackend is a legal-but-odd test backend: it reverses the order of
// the entries of each wait, fills at most half of the fired slice (the
// rest comes in later waits), and waits at most 1 ms per call, returning
// early with nothing (which the contract allows; the Poller rechecks the
// clock). The suite must pass on it.
const OddBackend = "odd-reverse-split"

// testBackend wraps a real backend and misbehaves as its name says.
type testBackend struct {
	backend
	kind    string
	watched map[int]bool // fds the kernel watches, for broken-phantom
}

var _ backend = (*testBackend)(nil)

// UseTestBackend registers the test backend name (OddBackend or one of
// BrokenBackends), wrapping the default backend, and returns the function
// that unregisters it.
func UseTestBackend(name string) (unregister func(), err error) {
	known := name == OddBackend
	for _, b := range BrokenBackends {
		known = known || b.Name == name
	}
	if !known {
		return nil, fmt.Errorf("%w: %q is not a test backend", ErrUnknownBackend, name)
	}
	if slices.Contains(Backends(), name) {
		return nil, fmt.Errorf("test backend %q is already registered", name)
	}
	base := registry[0]
	register(name, base.wake, func(setsize int, mode Mode) (backend, error) {
		be, err := base.open(setsize, mode)
		if err != nil {
			return nil, err
		}
		return &testBackend{backend: be, kind: name, watched: map[int]bool{}}, nil
	})
	return func() {
		registry = slices.DeleteFunc(registry, func(b backendInfo) bool { return b.name == name })
	}, nil
}

func (b *testBackend) ctl(fd int, old, new event.Mask) error {
	if b.kind == "broken-nodel" && new == event.None {
		return nil
	}
	err := b.backend.ctl(fd, old, new)
	if err == nil {
		if new == event.None {
			delete(b.watched, fd)
		} else {
			b.watched[fd] = true
		}
	}
	return err
}

func (b *testBackend) wait(fired []event.Fired, timeout time.Duration) (int, bool, error) {
	switch b.kind {
	case OddBackend:
		if len(fired) > 1 {
			fired = fired[:(len(fired)+1)/2]
		}
		if timeout < 0 || timeout > time.Millisecond {
			timeout = time.Millisecond
		}
		n, woke, err := b.backend.wait(fired, timeout)
		slices.Reverse(fired[:n])
		return n, woke, err
	case "broken-early":
		if timeout > 0 {
			n, woke, err := b.backend.wait(fired, timeout/4)
			return n, woke || (n == 0 && err == nil), err
		}
	}
	n, woke, err := b.backend.wait(fired, timeout)
	switch b.kind {
	case "broken-dup":
		k := n
		for i := 0; i < n && k < len(fired); i++ {
			fired[k] = fired[i]
			k++
		}
		return k, woke, err
	case "broken-phantom":
		if n < len(fired) {
			for fd := range b.watched {
				if !slices.ContainsFunc(fired[:n], func(f event.Fired) bool { return f.Fd == fd }) {
					fired[n] = event.Fired{Fd: fd, Mask: event.Readable | event.Writable}
					n++
					break
				}
			}
		}
	}
	return n, woke, err
}

func (b *testBackend) wake() error {
	if b.kind == "broken-nowake" {
		return nil
	}
	return b.backend.wake()
}

func (b *testBackend) close() error {
	if b.kind == "broken-leak" {
		return nil
	}
	return b.backend.close()
}

// TimeoutMs exposes timeoutMs, the rounding of the poll(2) and
// epoll_wait(2) fallbacks, which this machine's kernel (with epoll_pwait2
// and ppoll) never takes.
var TimeoutMs = timeoutMs
