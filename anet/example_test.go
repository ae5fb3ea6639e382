package anet_test

import (
	"fmt"
	"log"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux/anet"
)

// Listen on a loopback port the kernel picks, connect to it, accept the
// connection, and send a command and its reply. Every fd is non-blocking,
// so the example waits with poll(2) where a server would let its event
// loop (aeloop) call it back.
func Example() {
	lfd, err := anet.TCPServer("127.0.0.1:0", anet.ListenOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer unix.Close(lfd)
	addr, err := anet.LocalAddr(lfd)
	if err != nil {
		log.Fatal(err)
	}

	client, err := anet.TCPConnect(addr) // usually still in progress
	if err != nil {
		log.Fatal(err)
	}
	defer unix.Close(client)

	wait(lfd, unix.POLLIN) // a connection is pending
	server, err := anet.Accept(lfd)
	if err != nil {
		log.Fatal(err)
	}
	defer unix.Close(server)
	if _, err := anet.Accept(lfd); err == anet.ErrWouldBlock {
		fmt.Println("one connection, then nothing pending")
	}

	wait(client, unix.POLLOUT) // the connect finished, one way or the other
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
	if _, err := unix.Write(from, []byte(msg)); err != nil {
		log.Fatal(err)
	}
	wait(to, unix.POLLIN)
	buf := make([]byte, 64)
	n, err := unix.Read(to, buf)
	if err != nil {
		log.Fatal(err)
	}
	return string(buf[:n])
}

// wait blocks until fd reports events, for at most five seconds.
func wait(fd int, events int16) {
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(pfd, 5000)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n != 1 {
			log.Fatalf("poll fd %d: n=%d err=%v", fd, n, err)
		}
		return
	}
}
