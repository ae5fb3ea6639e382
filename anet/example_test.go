package anet_test

import (
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/aemux/mux"
	"github.com/aemux/mux/anet"
	"github.com/aemux/mux/event"
)

// Listen on a loopback port the kernel picks, connect to it, accept the
// connection, and send a command and its reply. Every fd is non-blocking,
// so the example waits with mux.WaitFd where a server would let its event
// loop (aeloop) call it back. The same code runs on Windows, where the fds
// are socket handles.
func Example() {
	lfd, err := anet.TCPServer("127.0.0.1:0", anet.ListenOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer anet.Close(lfd)
	addr, err := anet.LocalAddr(lfd)
	if err != nil {
		log.Fatal(err)
	}

	client, err := anet.TCPConnect(addr) // usually still in progress
	if err != nil {
		log.Fatal(err)
	}
	defer anet.Close(client)

	wait(lfd, event.Readable) // a connection is pending
	server, err := anet.Accept(lfd)
	if err != nil {
		log.Fatal(err)
	}
	defer anet.Close(server)
	if _, err := anet.Accept(lfd); err == anet.ErrWouldBlock {
		fmt.Println("one connection, then nothing pending")
	}

	wait(client, event.Writable) // the connect finished, one way or the other
	if err := anet.SockError(client); err != nil {
		log.Fatal(err)
	}
	if err := anet.TCPNoDelay(server, true); err != nil {
		log.Fatal(err)
	}
	peer, _ := anet.PeerAddr(client)
	fmt.Println("client connected to the listener:", peer == addr)

	fmt.Println("server got:", exchange(client, server, "PING"))
	fmt.Println("client got:", strings.TrimSpace(exchange(server, client, "+PONG\r\n")))
	// Output:
	// one connection, then nothing pending
	// client connected to the listener: true
	// server got: PING
	// client got: +PONG
}

// exchange writes msg on from and returns what to reads once readable.
func exchange(from, to int, msg string) string {
	if _, err := anet.Write(from, []byte(msg)); err != nil {
		log.Fatal(err)
	}
	wait(to, event.Readable)
	buf := make([]byte, 64)
	n, err := anet.Read(to, buf)
	if err != nil {
		log.Fatal(err)
	}
	return string(buf[:n])
}

// wait blocks until fd is ready for mask, for at most five seconds.
func wait(fd int, mask event.Mask) {
	ready, err := mux.WaitFd(fd, mask, 5*time.Second)
	if err != nil || ready == event.None {
		log.Fatalf("wait fd %d: ready=%v err=%v", fd, ready, err)
	}
}
