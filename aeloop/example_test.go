//go:build unix

package aeloop_test

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/anet"
)

// An echo server on one end of a socketpair and a client on the other, both
// driven by one loop: the server echoes what it reads, the client prints the
// echo and stops the loop.
func Example() {
	l, err := aeloop.CreateLoop(1024)
	if err != nil {
		panic(err)
	}
	defer l.Close()

	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		panic(err)
	}
	server, client := sp[0], sp[1]
	anet.NonBlock(server, true)
	anet.NonBlock(client, true)
	defer anet.Close(server)
	defer anet.Close(client)

	echo := func(l *aeloop.Loop, fd int, _ any, _ aeloop.Mask) {
		buf := make([]byte, 512)
		n, err := anet.Read(fd, buf)
		if n <= 0 || err != nil { // EOF or error: forget the connection
			l.DelEvent(fd, aeloop.Readable|aeloop.Writable)
			return
		}
		anet.Write(fd, buf[:n]) // a real server would queue what does not fit
	}
	show := func(l *aeloop.Loop, fd int, clientData any, _ aeloop.Mask) {
		buf := make([]byte, 512)
		n, _ := anet.Read(fd, buf)
		fmt.Printf("%s got %q\n", clientData, buf[:n])
		l.Stop()
	}
	if err := l.AddEvent(server, aeloop.Readable, echo, nil); err != nil {
		panic(err)
	}
	if err := l.AddEvent(client, aeloop.Readable, show, "client"); err != nil {
		panic(err)
	}
	anet.Write(client, []byte("hello"))
	if err := l.Main(); err != nil {
		panic(err)
	}
	// Output:
	// client got "hello"
}

// A periodic timer: the callback returns the delay until its next run, or
// NoMore to stop; the finalizer runs once when the timer is gone.
func ExampleLoop_AddTimer() {
	l, err := aeloop.CreateLoop(64)
	if err != nil {
		panic(err)
	}
	defer l.Close()

	ticks := 0
	tick := func(l *aeloop.Loop, id int64, clientData any) time.Duration {
		ticks++
		fmt.Printf("timer %d (%s): tick %d\n", id, clientData, ticks)
		if ticks == 3 {
			return aeloop.NoMore
		}
		return 10 * time.Millisecond
	}
	done := func(l *aeloop.Loop, clientData any) {
		fmt.Printf("%s finalized\n", clientData)
		l.Stop()
	}
	if _, err := l.AddTimer(10*time.Millisecond, tick, "heartbeat", done); err != nil {
		panic(err)
	}
	if err := l.Main(); err != nil {
		panic(err)
	}
	// Output:
	// timer 0 (heartbeat): tick 1
	// timer 0 (heartbeat): tick 2
	// timer 0 (heartbeat): tick 3
	// heartbeat finalized
}

// Post hands work to the loop from another goroutine: the functions run on
// the loop's goroutine, in order, and Post wakes the loop if it is blocked.
func ExampleLoop_Post() {
	l, err := aeloop.CreateLoop(64)
	if err != nil {
		panic(err)
	}
	defer l.Close()

	sum := 0 // owned by the loop goroutine: no lock needed
	go func() {
		for i := 1; i <= 4; i++ {
			l.Post(func(*aeloop.Loop) { sum += i })
			time.Sleep(time.Millisecond)
		}
		l.Post(func(l *aeloop.Loop) {
			fmt.Println("sum:", sum)
			l.Stop()
		})
	}()
	if err := l.Main(); err != nil { // blocks: no fd, no timer, only Posts
		panic(err)
	}
	// Output:
	// sum: 10
}

// Wait is ae's aeWait: one poll(2) on one fd, without a loop.
func ExampleWait() {
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		panic(err)
	}
	defer anet.Close(sp[0])
	defer anet.Close(sp[1])

	m, err := aeloop.Wait(sp[0], aeloop.Readable, 10*time.Millisecond)
	fmt.Println(m, err) // nothing to read: timed out
	anet.Write(sp[1], []byte("x"))
	m, err = aeloop.Wait(sp[0], aeloop.Readable|aeloop.Writable, time.Second)
	fmt.Println(m, err)
	// Output:
	// None <nil>
	// Readable|Writable <nil>
}
