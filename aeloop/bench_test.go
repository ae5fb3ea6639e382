package aeloop_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

// readyPairs makes n socketpairs whose first end is readable (one byte
// pending, never read), closed when b ends.
func readyPairs(tb testing.TB, n int) []int {
	tb.Helper()
	fds := make([]int, n)
	for i := range fds {
		a, b, err := fdtest.Socketpair()
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { fdtest.Close(a); fdtest.Close(b) })
		if _, err := fdtest.Write(b, []byte("x")); err != nil {
			tb.Fatal(err)
		}
		fds[i] = a
	}
	return fds
}

// BenchmarkProcessEvents is the cost of one ProcessEvents(AllEvents|DontWait)
// iteration with 1 and 1,000 active fds (each fires and its handler runs)
// and one periodic timer firing, per backend.
func BenchmarkProcessEvents(b *testing.B) {
	for _, name := range mux.Backends() {
		for _, n := range []int{1, 1000} {
			b.Run(fmt.Sprintf("%s/fds=%d", name, n), func(b *testing.B) {
				fds := readyPairs(b, n)
				l, err := aeloop.CreateLoop(2*n+64, mux.WithBackend(name))
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				calls := 0
				h := func(*aeloop.Loop, int, any, event.Mask) { calls++ }
				for _, fd := range fds {
					if err := l.AddEvent(fd, event.Readable, h, nil); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := l.AddTimer(0, func(*aeloop.Loop, int64, any) time.Duration { return 0 }, nil, nil); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if k, err := l.ProcessEvents(aeloop.AllEvents | aeloop.DontWait); err != nil || k != n+1 {
						b.Fatalf("ProcessEvents: %d, %v; want %d", k, err, n+1)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(calls), "ns/fd-event")
			})
		}
	}
}

// BenchmarkAddDelEvent is the bookkeeping of AddEvent and DelEvent on an
// fd registered for Readable, per backend: "toggle" adds and deletes
// Writable (two kernel calls, as a server arming its write handler for a
// reply), "same" adds Readable again and deletes Barrier (no kernel call:
// the loop's and the Poller's records alone).
func BenchmarkAddDelEvent(b *testing.B) {
	for _, name := range mux.Backends() {
		for _, c := range []struct {
			name     string
			add, del event.Mask
		}{{"toggle", event.Writable, event.Writable}, {"same", event.Readable, event.Barrier}} {
			b.Run(name+"/"+c.name, func(b *testing.B) {
				fd := readyPairs(b, 1)[0]
				l, err := aeloop.CreateLoop(64, mux.WithBackend(name))
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				h := func(*aeloop.Loop, int, any, event.Mask) {}
				if err := l.AddEvent(fd, event.Readable, h, nil); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := l.AddEvent(fd, c.add, h, nil); err != nil {
						b.Fatal(err)
					}
					l.DelEvent(fd, c.del)
				}
				if got := l.GetEvents(fd); got != event.Readable {
					b.Fatalf("GetEvents = %v, want Readable", got)
				}
			})
		}
	}
}

// BenchmarkTimers1M adds 1,000,000 timers (due over 10 ms, added out of due
// order) and fires them all, per iteration.
func BenchmarkTimers1M(b *testing.B) {
	const n = 1_000_000
	l, err := aeloop.CreateLoop(16)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ran := 0
	proc := func(*aeloop.Loop, int64, any) time.Duration { ran++; return aeloop.NoMore }
	b.ReportAllocs()
	for b.Loop() {
		ran = 0
		for i := range n {
			after := time.Duration((i*7919)%10_000) * time.Microsecond
			if _, err := l.AddTimer(after, proc, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
		for i := 0; ran < n && i < 1_000_000; i++ {
			if _, err := l.ProcessEvents(aeloop.TimeEvents); err != nil {
				b.Fatal(err)
			}
		}
		if ran != n {
			b.Fatalf("%d of %d timers ran", ran, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/timer")
}

// BenchmarkAddDelTimer is AddTimer plus DelTimer with 100,000 other timers
// pending.
func BenchmarkAddDelTimer(b *testing.B) {
	l, err := aeloop.CreateLoop(16)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	proc := func(*aeloop.Loop, int64, any) time.Duration { return aeloop.NoMore }
	for i := range 100_000 {
		if _, err := l.AddTimer(time.Hour+time.Duration(i), proc, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id, err := l.AddTimer(time.Minute+time.Duration(i%1000)*time.Millisecond, proc, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.DelTimer(id); err != nil {
			b.Fatal(err)
		}
		if i%1024 == 0 { // run the queued finalizers now and then
			l.ProcessEvents(aeloop.TimeEvents | aeloop.DontWait)
		}
	}
}

// BenchmarkPost is Post from another goroutine plus the loop running it.
func BenchmarkPost(b *testing.B) {
	l, err := aeloop.CreateLoop(16)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	count := 0
	fn := func(*aeloop.Loop) { count++ }
	b.ResetTimer()
	go func() {
		defer close(done)
		for range b.N {
			if err := l.Post(fn); err != nil {
				b.Error(err)
				return
			}
		}
		l.Post(func(l *aeloop.Loop) { l.Stop() })
	}()
	if err := l.Main(); err != nil {
		b.Fatal(err)
	}
	<-done
}
