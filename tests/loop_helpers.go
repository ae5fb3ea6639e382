package tests

import (
	"bytes"
	"errors"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
)

// loopLimit is how long one RunLoop subtest may take before its watchdog
// fails it.
const loopLimit = 10 * time.Second

// loopWatchdog is the watchdog of a RunLoop subtest: past limit it wakes l
// every 50 ms in case it is blocked in a poll (Stop, then an empty Post), so
// that a subtest blocked in one poll after another still gets to its end
// and reports.
func loopWatchdog(t *testing.T, l *aeloop.Loop, limit time.Duration) (done func()) {
	return watchdog(t, limit, 50*time.Millisecond, "", func() {
		if l != nil {
			l.Stop()
			_ = l.Post(func(*aeloop.Loop) {})
		}
	})
}

// loopNew creates a loop with create and closes it when t ends (a loop the
// test closed itself is fine).
func loopNew(t *testing.T, create func(setsize int) (*aeloop.Loop, error), setsize int) *aeloop.Loop {
	t.Helper()
	l, err := create(setsize)
	if err != nil {
		t.Fatalf("create(%d): %v", setsize, err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil && !errors.Is(err, mux.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// loopPair returns a connected AF_UNIX stream socketpair, both ends
// non-blocking and close-on-exec, closed when t ends.
func loopPair(t testing.TB) (a, b int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatalf("set non-blocking: %v", err)
		}
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// loopPipe returns a pipe, both ends non-blocking and close-on-exec. The
// caller closes the ends; closing one twice is harmless here because the
// cleanup only closes ends still marked open in the returned pointers.
func loopPipe(t testing.TB) (r, w *int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatalf("pipe: %v", err)
	}
	for _, fd := range p {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatalf("set non-blocking: %v", err)
		}
	}
	r, w = &p[0], &p[1]
	t.Cleanup(func() {
		for _, fd := range []*int{r, w} {
			if *fd >= 0 {
				unix.Close(*fd)
			}
		}
	})
	return r, w
}

// loopClose closes *fd and marks it closed for loopPipe's cleanup.
func loopClose(fd *int) {
	unix.Close(*fd)
	*fd = -1
}

// loopWrite writes s to fd or fails t.
func loopWrite(t testing.TB, fd int, s string) {
	t.Helper()
	n, err := unix.Write(fd, []byte(s))
	if err != nil || n != len(s) {
		t.Fatalf("write fd %d: %d, %v", fd, n, err)
	}
}

// loopDrain reads fd until EAGAIN (at most 1 MiB) and returns the bytes.
func loopDrain(fd int) []byte {
	var out []byte
	buf := make([]byte, 4096)
	for len(out) < 1<<20 {
		n, err := unix.Read(fd, buf)
		if n <= 0 || err != nil {
			break
		}
		out = append(out, buf[:n]...)
	}
	return out
}

// loopFdOpen reports whether fd is an open descriptor.
func loopFdOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// loopOpenFds lists the open descriptors below limit.
func loopOpenFds(limit int) map[int]bool {
	open := map[int]bool{}
	for fd := 0; fd < limit; fd++ {
		if loopFdOpen(fd) {
			open[fd] = true
		}
	}
	return open
}

// loopGoroutineID returns the id of the calling goroutine, from its stack
// header ("goroutine 18 [running]:"). Tests only.
func loopGoroutineID() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return -1
	}
	return id
}

// loopNop is a file handler that does nothing.
func loopNop(*aeloop.Loop, int, any, event.Mask) {}

// loopTimerNop is a timer that runs once.
func loopTimerNop(*aeloop.Loop, int64, any) time.Duration { return aeloop.NoMore }

// loopAfter calls fn in a new goroutine after d, unless t ended first.
func loopAfter(t *testing.T, d time.Duration, fn func()) {
	tm := time.AfterFunc(d, fn)
	t.Cleanup(func() { tm.Stop() })
}
