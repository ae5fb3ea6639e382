//go:build unix

package aeloop_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux/aeloop"
)

// BenchmarkLoopThreads measures what locking each loop's goroutine to its
// OS thread costs or saves, with as many loops as GOMAXPROCS and with four
// times as many: the loops work in pairs, each pair passing one byte back
// and forth over a socketpair, so every message wakes the other loop. One
// op is one round trip; the pairs run at once. cpu-ns/op is the process's
// CPU time (user and system) per round trip, which other work on the
// machine disturbs less than the elapsed time. The package doc's "Running
// a loop on a dedicated thread" quotes it:
//
//	go test -run '^$' -bench LoopThreads -count 6 ./aeloop
func BenchmarkLoopThreads(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	for _, loops := range []int{max(2, procs&^1), 4 * max(2, procs&^1)} {
		for _, locked := range []bool{true, false} {
			b.Run(fmt.Sprintf("loops=%d/locked=%v", loops, locked), func(b *testing.B) {
				benchLoopThreads(b, loops, locked)
			})
		}
	}
}

func benchLoopThreads(b *testing.B, loops int, locked bool) {
	pairs := loops / 2
	ls := make([]*aeloop.Loop, loops)
	for i := range ls {
		l, err := aeloop.CreateLoop(64)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		ls[i] = l
	}
	// Loop 2p pings and counts, loop 2p+1 answers.
	per := b.N/pairs + 1
	one := []byte{'x'}
	for p := range pairs {
		sp := nonblockingPair(b)
		left := 0
		var buf [1]byte
		ping := func(l *aeloop.Loop, fd int, _ any, _ aeloop.Mask) {
			if n, _ := unix.Read(fd, buf[:]); n != 1 {
				return
			}
			if left++; left == per {
				l.Stop()
				return
			}
			unix.Write(fd, one)
		}
		pong := func(l *aeloop.Loop, fd int, _ any, _ aeloop.Mask) {
			if n, _ := unix.Read(fd, buf[:]); n == 1 {
				unix.Write(fd, one)
			}
		}
		if err := ls[2*p].AddEvent(sp[0], aeloop.Readable, ping, nil); err != nil {
			b.Fatal(err)
		}
		if err := ls[2*p+1].AddEvent(sp[1], aeloop.Readable, pong, nil); err != nil {
			b.Fatal(err)
		}
		unix.Write(sp[0], one)
	}
	b.ResetTimer()
	cpu0 := cpuTime(b)
	var pingers, all sync.WaitGroup
	for i, l := range ls {
		all.Add(1)
		if i%2 == 0 {
			pingers.Add(1)
		}
		go func() {
			defer all.Done()
			if i%2 == 0 {
				defer pingers.Done()
			}
			if locked {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			if err := l.Main(); err != nil {
				b.Error(err)
			}
		}()
	}
	pingers.Wait()
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
	for i := 1; i < loops; i += 2 {
		ls[i].RequestStop()
	}
	all.Wait()
}

// cpuTime is the process's user and system CPU time so far, in ns.
func cpuTime(b *testing.B) int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// nonblockingPair makes a non-blocking socketpair, closed when b ends.
func nonblockingPair(b *testing.B) [2]int {
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Close(sp[0]); unix.Close(sp[1]) })
	for _, fd := range sp {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			b.Fatal(err)
		}
	}
	return sp
}
