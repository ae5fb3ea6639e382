package aeconn_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"

	"github.com/aemux/mux/aeconn"
)

// A line echo server: every line that comes in goes back in upper case,
// and "quit" closes the conn once the reply is sent. Each conn counts its
// lines in its Data.
func Example() {
	type state struct{ lines int }
	srv, err := aeconn.New(aeconn.Config{Listen: []aeconn.Listen{{Network: "tcp", Addr: "127.0.0.1:0"}}},
		aeconn.Handler[state]{
			OnData: func(c *aeconn.Conn[state], in []byte) int {
				used := 0
				for {
					i := bytes.IndexByte(in[used:], '\n')
					if i < 0 {
						return used // an incomplete line comes again with the rest
					}
					line := in[used : used+i]
					used += i + 1
					c.Data.lines++
					if string(line) == "quit" {
						fmt.Fprintf(c, "bye after %d lines\n", c.Data.lines)
						c.CloseAfterWrite()
						return used
					}
					c.Write(bytes.ToUpper(line))
					c.Write([]byte{'\n'})
				}
			},
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	go srv.Serve()
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Addrs()[0])
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Fprint(conn, "hello\nwor")
	fmt.Fprint(conn, "ld\nquit\n")
	r := bufio.NewScanner(conn)
	for r.Scan() {
		fmt.Println(r.Text())
	}
	// Output:
	// HELLO
	// WORLD
	// bye after 3 lines
}
