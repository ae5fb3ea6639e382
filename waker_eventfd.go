//go:build linux

package mux

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// waker is the wake-up channel of the epoll and poll backends on Linux: an
// eventfd, whose counter one read drains however many writes came before.
type waker struct {
	efd int
	buf [8]byte // drain's; separate from one because wake runs concurrently
	one [8]byte // a native-endian 1, for wake
}

// wakerKind names this waker in the platform table.
const wakerKind = wakeEventfd

func newWaker() (*waker, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, syscallErr("eventfd", err)
	}
	w := &waker{efd: fd}
	binary.NativeEndian.PutUint64(w.one[:], 1)
	return w, nil
}

// fd is the descriptor to watch for readability.
func (w *waker) fd() int { return w.efd }

// wake makes fd readable.
func (w *waker) wake() error { return writeWake(w.efd, w.one[:]) }

// drain makes fd unreadable again.
func (w *waker) drain() {
	for {
		if _, err := unix.Read(w.efd, w.buf[:]); err != unix.EINTR {
			return
		}
	}
}

func (w *waker) close() error { return syscallErr("close", unix.Close(w.efd)) }
