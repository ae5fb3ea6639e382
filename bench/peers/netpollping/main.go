// Command netpollping is a RESP server on cloudwego/netpoll
// (github.com/cloudwego/netpoll), written the way netpoll's README writes a
// server: netpoll.CreateListener, netpoll.NewEventLoop with an OnRequest
// handler and WithOnPrepare (which puts the connection's session in its
// context), and the handler reading from Connection.Reader and writing with
// Connection.Writer and Flush. It runs one poller
// (netpoll.Configure(netpoll.Config{PollerNum: 1}), in init as netpoll asks);
// netpoll runs handlers on its goroutine pool. A handler must consume all
// the input it is called for, so when a command is not complete it waits in
// Reader.Peek for more, as netpoll's blocking reads are meant to be used.
// Commands and parser: package resp (PING, ECHO, SET, GET, CONFIG GET,
// COMMAND, QUIT). It is a reference peer for the benchmark harness, not a
// product.
//
// Usage: netpollping [-addr 127.0.0.1:6380]. SIGTERM or SIGINT stops it
// (exit status 0).
package main

import (
	"context"
	"flag"
	"log"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudwego/netpoll"

	"peers/resp"
)

const (
	initialOut = 4 << 10 // a connection's reply buffer to start with
	keepOutCap = 1 << 20 // drop reply buffers that grew past this
)

func init() {
	if err := netpoll.Configure(netpoll.Config{PollerNum: 1}); err != nil {
		log.Fatal(err)
	}
}

type sessionKey struct{}

// client is one connection's state, in its context.
type client struct {
	sess *resp.Session
	out  []byte
}

func main() {
	addr := flag.String("addr", "127.0.0.1:6380", "TCP address to listen on")
	flag.Parse()
	log.SetFlags(0)

	st := resp.NewStore()
	ln, err := netpoll.CreateListener("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	prepare := func(conn netpoll.Connection) context.Context {
		cl := &client{sess: resp.NewSession(st), out: make([]byte, 0, initialOut)}
		return context.WithValue(context.Background(), sessionKey{}, cl)
	}
	loop, err := netpoll.NewEventLoop(handle, netpoll.WithOnPrepare(prepare))
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = loop.Shutdown(sctx)
	}()
	log.Printf("netpollping listening on %s (netpoll, one poller)", *addr)
	if err := loop.Serve(ln); err != nil {
		log.Fatal(err)
	}
}

// handle executes every complete command the connection has sent and writes
// the replies; it returns once all input is consumed.
func handle(ctx context.Context, conn netpoll.Connection) error {
	cl := ctx.Value(sessionKey{}).(*client)
	r, w := conn.Reader(), conn.Writer()
	for {
		n := r.Len()
		buf, err := r.Peek(n)
		if err != nil {
			return err
		}
		used, out, perr := cl.sess.Process(buf, cl.out[:0])
		if err := r.Skip(used); err != nil {
			return err
		}
		if len(out) > 0 {
			if _, err := w.WriteBinary(out); err != nil {
				return err
			}
			// Flush returns once the bytes are written, so out can be reused.
			if err := w.Flush(); err != nil {
				return err
			}
		}
		if cap(out) > keepOutCap {
			out = make([]byte, 0, initialOut)
		}
		cl.out = out[:0]
		if perr != nil { // resp.ErrQuit or resp.ErrProtocol: replies written
			return conn.Close()
		}
		if used == n {
			return r.Release()
		}
		// A command is not complete: wait for at least one more byte.
		if _, err := r.Peek(n - used + 1); err != nil {
			return err
		}
	}
}
