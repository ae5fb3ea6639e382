package aeloop

import (
	"fmt"

	"github.com/aemux/mux"
)

// Post queues fn to run on the loop's goroutine and wakes the loop if it is
// blocked in the poll. Safe from any goroutine, at any time. Every fn
// accepted (Post returned nil) runs exactly once: in the next ProcessEvents
// call that reaches the posted functions (after the fd handlers, before the
// timers), or, if the loop is closed first, when Close finishes (see
// Close): on the loop goroutine before its outermost ProcessEvents or Main
// call returns if one was running, else in Close. Functions run in the
// order their Post calls returned, so in order per sender. Once Close has
// been called, Post returns mux.ErrClosed and fn never runs; a Post racing
// with Close gets one outcome or the other. A nil fn returns ErrNilFunc.
//
// The queue is a slice under a mutex, swapped with a second slice by the
// loop, so Post allocates only when the queue outgrows every earlier one,
// and a ProcessEvents with nothing posted takes no lock.
func (l *Loop) Post(fn func(*Loop)) error {
	if fn == nil {
		return fmt.Errorf("aeloop: post: %w", ErrNilFunc)
	}
	l.postMu.Lock()
	if l.postClosed {
		l.postMu.Unlock()
		return mux.ErrClosed
	}
	l.posted = append(l.posted, fn)
	first := len(l.posted) == 1
	if first {
		l.postPending.Store(true)
	}
	l.postMu.Unlock()
	if first {
		// Later Posts find the loop already woken for this batch. An
		// error means the loop is being closed: its shutdown runs fn.
		_ = l.p.Wake()
	}
	return nil
}

// runPosts runs the functions queued so far. Those posted meanwhile wait for
// the next call. Safe against a nested ProcessEvents in a posted function:
// the batch being run is owned by this call until it is done.
func (l *Loop) runPosts() {
	l.postMu.Lock()
	if len(l.posted) == 0 {
		l.postMu.Unlock()
		return
	}
	run := l.posted
	l.posted, l.spare = l.spare[:0], nil
	l.postPending.Store(false)
	l.postMu.Unlock()
	for i, fn := range run {
		run[i] = nil
		l.stats.Posts++
		fn(l)
	}
	l.postMu.Lock()
	if l.spare == nil {
		l.spare = run[:0]
	}
	l.postMu.Unlock()
}
