//go:build unix

package mux_test

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux"
	"github.com/aemux/mux/anet"
	"github.com/aemux/mux/event"
)

// Watch one end of a socketpair, write to the other, and see it reported.
func Example() {
	p, err := mux.Open(1024) // the platform default, or $AEMUX_BACKEND
	if err != nil {
		panic(err)
	}
	defer p.Close()

	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0) // add SOCK_NONBLOCK|SOCK_CLOEXEC where the OS has them
	if err != nil {
		panic(err)
	}
	defer anet.Close(sp[0])
	defer anet.Close(sp[1])

	if err := p.Add(sp[0], event.Readable); err != nil {
		panic(err)
	}
	anet.Write(sp[1], []byte("hello"))

	fired := make([]event.Fired, 64)
	n, err := p.Wait(fired, time.Second)
	if err != nil {
		panic(err)
	}
	for _, f := range fired[:n] {
		buf := make([]byte, 16)
		k, _ := anet.Read(f.Fd, buf)
		fmt.Println(f.Fd == sp[0], f.Mask, string(buf[:k]))
	}
	// Output:
	// true Readable hello
}

// Wake interrupts a Wait from another goroutine.
func ExamplePoller_Wake() {
	p, err := mux.Open(16)
	if err != nil {
		panic(err)
	}
	defer p.Close()
	go p.Wake()
	n, err := p.Wait(make([]event.Fired, 8), -1) // blocks until the Wake
	fmt.Println(n, err)
	// Output:
	// 0 <nil>
}

// The poll backend can be forced by name, on every unix.
func ExampleWithBackend() {
	p, err := mux.Open(16, mux.WithBackend("poll"))
	if err != nil {
		panic(err)
	}
	defer p.Close()
	fmt.Println(p.Name(), p.Caps().Edge)
	_, err = mux.Open(16, mux.WithBackend("select"))
	fmt.Println(err != nil)
	// Output:
	// poll false
	// true
}
