// Command aemuxinfo prints the aemux backends built for this OS, what each
// supports and reports (mux.Caps), and measures on each one the latency of
// a pipe write seen by Wait and a Wake seen by a blocked Wait.
//
//	go run ./cmd/aemuxinfo
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

func main() {
	rounds := flag.Int("n", 2000, "round trips to time per backend")
	flag.Parse()
	fmt.Printf("backends built here (default first): %v\n", mux.Backends())
	if env := os.Getenv(mux.EnvBackend); env != "" {
		fmt.Printf("%s=%s\n", mux.EnvBackend, env)
	}
	for _, name := range mux.Backends() {
		if err := report(name, *rounds); err != nil {
			fmt.Fprintf(os.Stderr, "aemuxinfo: %s: %v\n", name, err)
			os.Exit(1)
		}
	}
}

func report(name string, rounds int) error {
	p, err := mux.Open(1024, mux.WithBackend(name))
	if err != nil {
		return err
	}
	defer p.Close()
	c := p.Caps()
	fmt.Printf("\n%s: edge=%v oneshot=%v (emulated=%v) hangup=%v halfclose=%v error=%v pollable-fd=%v resolution=%v\n",
		name, c.Edge, c.Oneshot, c.OneshotEmulated, c.Hangup, c.HalfClose, c.Error, c.Pollable, c.Resolution)

	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		return err
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if err := p.Add(fds[0], event.Readable); err != nil {
		return err
	}
	fired := make([]event.Fired, 8)
	buf := make([]byte, 1)
	io := make([]time.Duration, rounds)
	for i := range io {
		start := time.Now()
		unix.Write(fds[1], buf)
		if n, err := p.Wait(fired, time.Second); err != nil || n != 1 {
			return fmt.Errorf("wait: %d %v", n, err)
		}
		unix.Read(fds[0], buf)
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
	fmt.Printf("  pipe write -> Wait -> read: median %v p99 %v\n", pct(io, 50), pct(io, 99))
	fmt.Printf("  Wake from another goroutine -> Wait returns: median %v p99 %v\n", pct(wake, 50), pct(wake, 99))
	return nil
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}
