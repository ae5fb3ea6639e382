//go:build unix

package anet_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux/anet"
)

// A client resolves once, connects to the resolved address with a timeout,
// and sees the reply waiting with Pending. The server side shows the
// hand-over both ways: a net.Listener taken for the loop with FromNet, and
// an accepted fd handed to a goroutine as a net.Conn with NetConn (as one
// would to run crypto/tls on it).
func ExampleNetConn() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	lfd, err := anet.FromNet(ln) // ln is closed; the loop owns lfd
	if err != nil {
		log.Fatal(err)
	}
	defer anet.Close(lfd)
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	addrs, err := anet.Resolve(context.Background(), "127.0.0.1", port)
	if err != nil {
		log.Fatal(err)
	}
	client, err := anet.TCPConnectTimeout(addrs[0], 5*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	defer anet.Close(client)

	wait(lfd, unix.POLLIN)
	fd, err := anet.Accept(lfd)
	if err != nil {
		log.Fatal(err)
	}
	conn, err := anet.NetConn(fd) // fd is closed; conn owns the connection
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // a goroutine serves it with the net package
		defer close(done)
		defer conn.Close()
		buf := make([]byte, 64)
		n, _ := conn.Read(buf)
		conn.Write(append([]byte("echo: "), buf[:n]...))
	}()

	if _, err := anet.Write(client, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	<-done
	wait(client, unix.POLLIN)
	n, _ := anet.Pending(client)
	fmt.Println("bytes waiting:", n)
	buf := make([]byte, n)
	anet.Read(client, buf)
	fmt.Println(string(buf))
	// Output:
	// bytes waiting: 11
	// echo: hello
}
