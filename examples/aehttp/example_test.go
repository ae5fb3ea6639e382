package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/aemux/mux/aeconn"
)

// The server on a free loopback port, asked for /plaintext by Go's client.
func Example() {
	srv, err := newServer(aeconn.Config{Listen: []aeconn.Listen{{Network: "tcp", Addr: "127.0.0.1:0"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	go srv.Serve()
	defer srv.Close()
	resp, err := http.Get("http://" + srv.Addrs()[0] + "/plaintext")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, resp.Header.Get("Server"), string(body))
	// Output: 200 OK aehttp Hello, World!
}
