package tests

import (
	"bytes"
	"errors"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hashicorp/go-multierror"

	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
)

// minus returns the members of a that are not in b (both sorted).
func minus(a, b []int) []int {
	var out []int
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

// errorCount is how many errors err carries: the length of a go-multierror
// list, 1 for any other error, 0 for nil.
func errorCount(err error) int {
	var merr *multierror.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &merr):
		return len(merr.Errors)
	}
	return 1
}

// raiseNofile raises the soft fd limit to the hard one and returns the
// soft limit in force.
func raiseNofile() uint64 {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur < lim.Max {
		want := lim
		want.Cur = want.Max
		if unix.Setrlimit(unix.RLIMIT_NOFILE, &want) == nil {
			return uint64(want.Cur)
		}
	}
	return uint64(lim.Cur)
}

// percentiles returns the median, the 99th percentile and the maximum of
// d (sorted in place).
func percentiles(d []time.Duration) (median, p99, worst time.Duration) {
	slices.Sort(d)
	return d[len(d)/2], d[(len(d)*99)/100], d[len(d)-1]
}

// storm is a running signalStorm.
type storm struct {
	sent atomic.Int64
	stop func()
}

// Sent returns how many signals have been sent so far; safe from any
// goroutine.
func (s *storm) Sent() int { return int(s.sent.Load()) }

// Stop ends the storm and returns how many signals were sent. Call it
// from the goroutine that started the storm: it unlocks that goroutine's
// thread.
func (s *storm) Stop() int {
	s.stop()
	return s.Sent()
}

// signalStorm locks the calling goroutine to its thread and sends it
// SIGUSR1 every interval (threadSignaller: tgkill on Linux, so that a
// blocking poll in that very thread is interrupted with EINTR; elsewhere
// the kernel picks the thread, so only sometimes) until Stop. On a loaded
// machine the ticker falls behind, so tests that need a number of signals
// wait for Sent to reach it rather than for a time.
func signalStorm(interval time.Duration) *storm {
	runtime.LockOSThread()
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGUSR1)
	send := threadSignaller(unix.SIGUSR1)
	quit, done := make(chan struct{}), make(chan struct{})
	st := &storm{}
	go func() {
		defer close(done)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tk.C:
				if send() == nil {
					st.sent.Add(1)
				}
			case <-ch:
			}
		}
	}()
	st.stop = func() {
		close(quit)
		<-done
		signal.Stop(ch)
		runtime.UnlockOSThread()
	}
	return st
}

// goroutineID returns the id of the calling goroutine, from its stack
// header ("goroutine 18 [running]:"). Tests only.
func goroutineID() int64 {
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

// nopHandler is a file handler that does nothing.
func nopHandler(*aeloop.Loop, int, any, event.Mask) {}

// nopTimer is a timer that runs once.
func nopTimer(*aeloop.Loop, int64, any) time.Duration { return aeloop.NoMore }
