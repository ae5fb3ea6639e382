//go:build unix && !linux

package mux

import (
	"github.com/hashicorp/go-multierror"
	"golang.org/x/sys/unix"
)

// waker is the wake-up channel where no eventfd exists: a non-blocking,
// close-on-exec pipe. wake writes one byte; drain reads until EAGAIN.
type waker struct {
	r, w int
	buf  [64]byte // drain's
	one  [1]byte  // wake's; separate because wake runs concurrently with drain
}

// wakerKind names this waker in the platform table.
const wakerKind = wakePipe

func newWaker() (*waker, error) {
	var p [2]int
	if err := pipeCloexec(&p); err != nil {
		return nil, err
	}
	for _, fd := range p {
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(p[0])
			unix.Close(p[1])
			return nil, syscallErr("fcntl", err)
		}
	}
	return &waker{r: p[0], w: p[1]}, nil
}

func (w *waker) fd() int { return w.r }

func (w *waker) wake() error { return writeWake(w.w, w.one[:]) }

func (w *waker) drain() {
	for {
		n, err := unix.Read(w.r, w.buf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n < len(w.buf) {
			return
		}
	}
}

// close closes both ends and returns every failure, aggregated.
func (w *waker) close() error {
	var errs *multierror.Error
	for _, fd := range [2]int{w.r, w.w} {
		if err := unix.Close(fd); err != nil {
			errs = multierror.Append(errs, syscallErr("close", err))
		}
	}
	return errs.ErrorOrNil()
}
