// Command aemuxinfo prints the aemux backends built for this OS, what each
// supports and reports (mux.Caps), and measures on each one: the latency of
// a pipe write (on Windows, a loopback TCP write) seen by Wait and of a
// Wake seen by a blocked Wait, how late a timed Wait of 100 µs, 3.1 ms and
// 50 ms returns (it must never return early), and how late a 1 ms periodic
// aeloop timer runs on a locked thread, with the default timer slack and
// (on Linux) with the slack lowered to 1 ns. Run it on an idle machine: the
// figures are latencies, and a busy one adds its own.
//
//	go run ./cmd/aemuxinfo
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/anet"
	"github.com/aemux/mux/event"
)

func main() {
	rounds := flag.Int("n", 2000, "round trips to time per backend")
	timed := flag.Int("waits", 1000, "timed Waits per timeout per backend")
	ticks := flag.Int("ticks", 1000, "runs of the 1 ms periodic timer per backend")
	flag.Parse()
	fmt.Printf("backends built here (default first): %v\n", mux.Backends())
	if env := os.Getenv(mux.EnvBackend); env != "" {
		fmt.Printf("%s=%s\n", mux.EnvBackend, env)
	}
	for _, name := range mux.Backends() {
		if err := report(name, *rounds, *timed, *ticks); err != nil {
			fmt.Fprintf(os.Stderr, "aemuxinfo: %s: %v\n", name, err)
			os.Exit(1)
		}
	}
}

func report(name string, rounds, timed, ticks int) error {
	p, err := mux.Open(1024, mux.WithBackend(name))
	if err != nil {
		return err
	}
	defer p.Close()
	c := p.Caps()
	fmt.Printf("\n%s: edge=%v oneshot=%v (emulated=%v) hangup=%v halfclose=%v error=%v pollable-fd=%v resolution=%v\n",
		name, c.Edge, c.Oneshot, c.OneshotEmulated, c.Hangup, c.HalfClose, c.Error, c.Pollable, c.Resolution)

	fds, what, err := pair()
	if err != nil {
		return err
	}
	defer anet.Close(fds[0])
	defer anet.Close(fds[1])
	if err := p.Add(fds[0], event.Readable); err != nil {
		return err
	}
	fired := make([]event.Fired, 8)
	buf := make([]byte, 1)
	io := make([]time.Duration, rounds)
	for i := range io {
		start := time.Now()
		anet.Write(fds[1], buf)
		if n, err := p.Wait(fired, time.Second); err != nil || n != 1 {
			return fmt.Errorf("wait: %d %v", n, err)
		}
		anet.Read(fds[0], buf)
		io[i] = time.Since(start)
	}
	wake := make([]time.Duration, rounds/10+1)
	for i := range wake {
		start := make(chan time.Time)
		go func() { start <- time.Now(); p.Wake() }()
		t0 := <-start
		if _, err := p.Wait(fired, time.Second); err != nil {
			return err
		}
		wake[i] = time.Since(t0)
	}
	fmt.Printf("  %s write -> Wait -> read: median %v p99 %v\n", what, pct(io, 50), pct(io, 99))
	fmt.Printf("  Wake from another goroutine -> Wait returns: median %v p99 %v\n", pct(wake, 50), pct(wake, 99))
	for _, d := range []time.Duration{100 * time.Microsecond, 3100 * time.Microsecond, 50 * time.Millisecond} {
		n := timed
		if d > 10*time.Millisecond {
			n = max(timed/20, 10) // bounded: 50 ms each
		}
		late := make([]time.Duration, n)
		for i := range late {
			start := time.Now()
			k, err := p.Wait(fired, d)
			el := time.Since(start)
			if err != nil || k != 0 {
				return fmt.Errorf("timed wait: %d %v", k, err)
			}
			if el < d {
				return fmt.Errorf("a %v Wait returned after %v: early", d, el)
			}
			late[i] = el - d
		}
		fmt.Printf("  timed Wait(%v), %d runs: never early; late by median %v p99 %v max %v\n",
			d, n, pct(late, 50), pct(late, 99), pct(late, 100))
	}
	for _, slack := range []bool{false, true} {
		late, ok, err := onLockedThread(name, ticks, slack)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		how := "default timer slack"
		if slack {
			how = "timer slack 1 ns"
		}
		fmt.Printf("  aeloop 1 ms periodic timer, %d runs, locked thread, %s: late by median %v p99 %v max %v\n",
			ticks, how, pct(late, 50), pct(late, 99), pct(late, 100))
	}
	return nil
}

// onLockedThread runs timerLateness on a goroutine locked to its thread,
// with the thread's timer slack lowered if slack is set (ok is false where
// the OS has no such setting).
func onLockedThread(name string, n int, slack bool) (late []time.Duration, ok bool, err error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // not unlocked: the thread's slack changed, let it exit with the goroutine
		if slack && !lowSlack() {
			return
		}
		ok = true
		late, err = timerLateness(name, n)
	}()
	<-done
	return late, ok, err
}

// timerLateness runs a 1 ms periodic aeloop timer n times and returns how
// late each run was against its due time (the previous run's return plus
// 1 ms, as ae reschedules).
func timerLateness(name string, n int) ([]time.Duration, error) {
	l, err := aeloop.CreateLoop(64, mux.WithBackend(name))
	if err != nil {
		return nil, err
	}
	defer l.Close()
	const period = time.Millisecond
	late := make([]time.Duration, 0, n)
	due := time.Now().Add(period)
	var failure error
	_, err = l.AddTimer(period, func(l *aeloop.Loop, _ int64, _ any) time.Duration {
		now := time.Now()
		if now.Before(due) {
			failure = fmt.Errorf("the timer ran %v early", due.Sub(now))
		}
		late = append(late, now.Sub(due))
		if len(late) == n || failure != nil {
			l.Stop()
			return aeloop.NoMore
		}
		due = time.Now().Add(period)
		return period
	}, nil, nil)
	if err != nil {
		return nil, err
	}
	if err := l.Main(); err != nil {
		return nil, err
	}
	return late, failure
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100] // p = 100: the maximum
}
