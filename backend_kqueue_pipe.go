//go:build netbsd || openbsd

package mux

// kqWake is the kqueue backend's wake-up where EVFILT_USER is missing: the
// read end of the root's non-blocking pipe waker, watched level-triggered
// with EVFILT_READ whatever the mode, and drained by wait. OpenBSD has no
// EVFILT_USER; NetBSD has it from 10.0, so this file can give way to
// backend_kqueue_user.go there once NetBSD 9 is no longer supported (as Go's runtime
// notes in netpoll_kqueue_pipe.go).
type kqWake struct {
	w *waker
}

// kqWakeKind names this wake-up in the platform table.
const kqWakeKind = wakePipe

func (b *kqueueBackend) openWake() error {
	w, err := newWaker()
	if err != nil {
		return err
	}
	var add [1]nativeKevent
	keventSet(&add[0], uint64(w.fd()), evfiltRead, evAdd, 0)
	if _, err := keventCall(b.kq, add[:], nil, nil); err != nil {
		w.close()
		return syscallErr("kevent", err)
	}
	b.wk.w = w
	b.m.wakeFd = w.fd()
	return nil
}

func (b *kqueueBackend) wake() error { return b.wk.w.wake() }

func (b *kqueueBackend) drainWake() { b.wk.w.drain() }

func (b *kqueueBackend) closeWake() error { return b.wk.w.close() }
