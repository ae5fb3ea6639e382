package aeconn_test

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeconn"
)

// BenchmarkRequestReply is one request and its reply per op over loopback
// TCP (a line echoed), with depth requests pipelined per round trip; a
// client from package net. It shows what the layer allocates per request
// in steady state (allocs/op counts the whole process: server and client):
// nothing.
func BenchmarkRequestReply(b *testing.B) {
	for _, mode := range []mux.Mode{mux.Level, mux.Edge} {
		for _, depth := range []int{1, 16} {
			b.Run(mode.String()+"/depth="+strconv.Itoa(depth), func(b *testing.B) {
				benchRequestReply(b, mode, depth)
			})
		}
	}
}

func benchRequestReply(b *testing.B, mode mux.Mode, depth int) {
	srv, err := aeconn.New(aeconn.Config{Listen: tcpListen(), Mode: mode}, aeconn.Handler[int]{OnData: echoLines[int]})
	if err != nil {
		b.Fatal(err)
	}
	serve(b, srv)
	c, err := net.Dial("tcp", srv.Addrs()[0])
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /plaintext\n")
	batch := make([]byte, 0, depth*len(req))
	for range depth {
		batch = append(batch, req...)
	}
	reply := make([]byte, len(batch))
	round := func() {
		if _, err := c.Write(batch); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, reply); err != nil {
			b.Fatal(err)
		}
	}
	c.SetDeadline(time.Now().Add(time.Minute))
	for range 100 {
		round() // warm: the loop's buffers exist
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += depth {
		round()
	}
}
