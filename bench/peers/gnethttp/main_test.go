package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// The peer answers what bench/http.sh asks, pipelined, and 400 on garbage.
func TestServe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	hs := &httpServer{addr: "tcp://" + addr, started: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- gnet.Run(hs, hs.addr, gnet.WithTicker(true)) }()
	select {
	case <-hs.started:
	case err := <-done:
		t.Fatal(err)
	}
	defer func() {
		hs.eng.Stop(t.Context())
		<-done
	}()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, strings.Repeat("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\n\r\n", 4)+"BAD\r\n\r\n")
	r := bufio.NewReader(c)
	for i := range 8 {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		want := map[bool]string{true: "Hello, World!", false: `{"message":"Hello, World!"}`}[i%2 == 0]
		if resp.StatusCode != 200 || string(body) != want || resp.Header.Get("Date") == "" {
			t.Fatalf("response %d: %s %q", i, resp.Status, body)
		}
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("garbage: %v %v", resp, err)
	}
}
