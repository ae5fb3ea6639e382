package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// serve answers every connection's input with reply once per read, and
// counts the connections open.
func serve(t *testing.T, reply string) (addr string, open *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open = new(atomic.Int64)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			open.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer open.Add(-1)
				defer c.Close()
				buf := make([]byte, 64)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					if _, err := io.WriteString(c, reply); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), open
}

func TestMeasure(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/PID/status (Linux only)")
	}
	addr, open := serve(t, "+PONG\r\n")
	cfg := config{addr: addr, pid: os.Getpid(), n: 300, dialers: 8, sources: 5, settle: 50 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := measure(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.conns != 300 || r.before <= 0 || r.after <= 0 || r.open <= 0 {
		t.Fatalf("result %+v: want 300 connections and both VmRSS readings", r)
	}
	if want := float64(r.after-r.before) * 1024 / 300; r.bytesPerConn != want {
		t.Errorf("bytes per connection %v, want %v", r.bytesPerConn, want)
	}
	// Every connection is closed when measure returns.
	deadline := time.Now().Add(5 * time.Second)
	for open.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := open.Load(); n != 0 {
		t.Errorf("%d connections still open after measure returned", n)
	}
}

func TestBadReplyAndDeadServer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/PID/status (Linux only)")
	}
	addr, _ := serve(t, "-ERR no\r\n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := config{addr: addr, pid: os.Getpid(), n: 10, dialers: 2, sources: 1, settle: 10 * time.Millisecond}
	if _, err := measure(ctx, cfg); !errors.Is(err, ErrBadReply) {
		t.Errorf("server answering -ERR: err %v, want ErrBadReply", err)
	}
	// Nothing listens on a port just released: the dial fails, no hang.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.addr = ln.Addr().String()
	ln.Close()
	if _, err := measure(ctx, cfg); err == nil {
		t.Error("no server: measure succeeded")
	}
}
