//go:build linux

package mux_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

// BenchmarkWaitVsBare puts Poller.Wait beside the bare system call it makes,
// on the same set of fds, in one run: one pipe with a byte waiting (so every
// call returns it at once, level-triggered) plus the Poller's waker. For
// epoll the bare call is unix.EpollWait on the Poller's own epoll fd; for
// poll it is unix.Poll on the same two fds with the events the poll backend
// asks for. The difference between a pair is what the Poller adds: its
// bookkeeping (the close guard, the deadline, translating and trimming the
// entries) and, on epoll, nothing else, since it makes the one call.
//
// Besides ns/op each reports cpu-ns/op, the process's user+system CPU time
// per call (getrusage), which other processes on a busy machine inflate
// less than they inflate the elapsed time. Repeat whole runs so that the
// pairs alternate:
//
//	for i in $(seq 10); do go test -run '^$' -bench WaitVsBare .; done | benchstat -col /call -
func BenchmarkWaitVsBare(b *testing.B) {
	b.Run("backend=epoll", func(b *testing.B) {
		p, r := readyPoller(b, "epoll")
		evs := make([]unix.EpollEvent, 64)
		b.Run("call=bare", func(b *testing.B) {
			b.ReportAllocs()
			defer cpuPerOp(b)()
			for range b.N {
				if n, err := unix.EpollWait(p.Fd(), evs, 1000); n != 1 || err != nil || int(evs[0].Fd) != r {
					b.Fatalf("EpollWait = %d, %v", n, err)
				}
			}
		})
		waitRuns(b, p)
	})
	b.Run("backend=poll", func(b *testing.B) {
		p, r := readyPoller(b, "poll")
		efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		require.NoError(b, err)
		b.Cleanup(func() { unix.Close(efd) })
		fds := []unix.PollFd{{Fd: int32(efd), Events: unix.POLLIN}, {Fd: int32(r), Events: unix.POLLIN | unix.POLLRDHUP}}
		b.Run("call=bare", func(b *testing.B) {
			b.ReportAllocs()
			defer cpuPerOp(b)()
			for range b.N {
				if n, err := unix.Poll(fds, 1000); n != 1 || err != nil || fds[1].Revents&unix.POLLIN == 0 {
					b.Fatalf("Poll = %d, %v", n, err)
				}
			}
		})
		waitRuns(b, p)
	})
}

// readyPoller opens a Poller of the backend with one registered pipe that
// stays readable, and returns it with the pipe's read end.
func readyPoller(b *testing.B, backend string) (*mux.Poller, int) {
	p, err := mux.Open(64, mux.WithBackend(backend))
	require.NoError(b, err)
	b.Cleanup(func() { p.Close() })
	r, w := pipe(b)
	_, err = unix.Write(w, []byte{1})
	require.NoError(b, err)
	require.NoError(b, p.Add(r, event.Readable))
	return p, r
}

func waitRuns(b *testing.B, p *mux.Poller) {
	fired := make([]event.Fired, 64)
	b.Run("call=Wait", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for range b.N {
			if n, err := p.Wait(fired, time.Second); n != 1 || err != nil {
				b.Fatalf("Wait = %d, %v", n, err)
			}
		}
	})
}

// cpuPerOp starts counting the process's CPU time; the function it returns
// reports it per op as cpu-ns/op.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime(b)
	return func() { b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op") }
}

func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	require.NoError(b, unix.Getrusage(unix.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
