package mux_test

import (
	"fmt"
	"net"
	"time"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

// Watch a socket of package net: on Windows, Add takes its SOCKET handle,
// which syscall.RawConn.Control hands out.
func Example() {
	p, err := mux.Open(1024) // iocp, the only backend on Windows
	if err != nil {
		panic(err)
	}
	defer p.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		panic(err)
	}
	defer client.Close()
	server, err := l.Accept()
	if err != nil {
		panic(err)
	}
	defer server.Close()

	raw, err := server.(*net.TCPConn).SyscallConn()
	if err != nil {
		panic(err)
	}
	var handle int
	raw.Control(func(fd uintptr) { handle = int(fd) })
	if err := p.Add(handle, event.Readable); err != nil {
		panic(err)
	}
	defer p.Del(handle, event.Readable)
	client.Write([]byte("hello"))

	fired := make([]event.Fired, 64)
	n, err := p.Wait(fired, time.Second)
	if err != nil {
		panic(err)
	}
	for _, f := range fired[:n] {
		buf := make([]byte, 16)
		k, _ := server.Read(buf)
		fmt.Println(f.Fd == handle, f.Mask, string(buf[:k]))
	}
	// Output:
	// true Readable hello
}
