//go:build darwin || dragonfly || freebsd

package mux

import "golang.org/x/sys/unix"

// kqWake is the kqueue backend's wake-up where EVFILT_USER exists: a user
// event registered with EV_CLEAR, so that the kernel resets it when wait
// retrieves it and there is nothing to drain. NOTE_TRIGGER fires it.
type kqWake struct {
	trigger [1]unix.Kevent_t // built once; wake only reads it, from any goroutine
}

// kqWakeIdent is the user event's ident; it shares no namespace with fds.
const kqWakeIdent = 0

func (b *kqueueBackend) openWake() error {
	var add [1]unix.Kevent_t
	unix.SetKevent(&add[0], kqWakeIdent, unix.EVFILT_USER, unix.EV_ADD|unix.EV_CLEAR)
	if _, err := unix.Kevent(b.kq, add[:], nil, nil); err != nil {
		return syscallErr("kevent", err)
	}
	unix.SetKevent(&b.wk.trigger[0], kqWakeIdent, unix.EVFILT_USER, 0)
	b.wk.trigger[0].Fflags = unix.NOTE_TRIGGER
	return nil
}

func (b *kqueueBackend) wake() error {
	for {
		_, err := unix.Kevent(b.kq, b.wk.trigger[:], nil, nil)
		if err != unix.EINTR {
			return syscallErr("kevent", err)
		}
	}
}

// drainWake has nothing to do: EV_CLEAR reset the event when wait got it.
func (b *kqueueBackend) drainWake() {}

func (b *kqueueBackend) closeWake() error { return nil }
