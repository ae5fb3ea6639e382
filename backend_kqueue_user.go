//go:build darwin || dragonfly || freebsd || (linux && cgo && libkqueue)

package mux

import "golang.org/x/sys/unix"

// kqWake is the kqueue backend's wake-up where EVFILT_USER exists: a user
// event registered with EV_CLEAR, so that the kernel resets it when wait
// retrieves it and there is nothing to drain. NOTE_TRIGGER fires it.
type kqWake struct {
	trigger []nativeKevent // one change, built once; wake only reads it, from any goroutine
}

// kqWakeKind names this wake-up in the platform table.
const kqWakeKind = wakeUser

// kqWakeIdent is the user event's ident; it shares no namespace with fds.
const kqWakeIdent = 0

func (b *kqueueBackend) openWake() error {
	var add [1]nativeKevent
	keventSet(&add[0], kqWakeIdent, evfiltUser, evAdd|evClear, 0)
	if _, err := keventCall(b.kq, add[:], nil, nil); err != nil {
		return syscallErr("kevent", err)
	}
	b.wk.trigger = make([]nativeKevent, 1)
	keventSet(&b.wk.trigger[0], kqWakeIdent, evfiltUser, 0, noteTrigger)
	return nil
}

func (b *kqueueBackend) wake() error {
	for {
		_, err := keventCall(b.kq, b.wk.trigger, nil, nil)
		if err != unix.EINTR {
			return syscallErr("kevent", err)
		}
	}
}

// drainWake has nothing to do: EV_CLEAR reset the event when wait got it.
func (b *kqueueBackend) drainWake() {}

func (b *kqueueBackend) closeWake() error { return nil }
