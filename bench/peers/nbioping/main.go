// Command nbioping is a RESP server on nbio (github.com/lesismal/nbio),
// written the way nbio's README writes a server: nbio.NewEngine with a
// Config, an OnData handler and Conn.Write, the connection's state in its
// session (made on its first data, on the poller goroutine). It runs
// one poller (Config.NPoller = 1; nbio accepts on a goroutine of its own).
// OnData gets a buffer the engine reuses, so a command that is not complete
// yet is kept in the connection's session until the rest arrives. Commands
// and parser: package resp (PING, ECHO, SET, GET, CONFIG GET, COMMAND,
// QUIT). It is a reference peer for the benchmark harness, not a product.
//
// After QUIT or malformed input the connection is closed once its replies
// are written. nbio's Close drops replies still buffered, so nbioping counts
// what it handed to Conn.Write against what nbio reports written
// (Engine.OnWrittenSize) and closes when nothing is left.
//
// Usage: nbioping [-addr 127.0.0.1:6380]. SIGTERM or SIGINT stops it (exit
// status 0).
package main

import (
	"context"
	"flag"
	"log"
	"os/signal"
	"syscall"

	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/logging"

	"peers/resp"
)

const (
	initialBuf = 4 << 10 // a connection's buffers to start with
	keepCap    = 1 << 20 // drop buffers that grew past this
)

// client is one connection's state, its session in nbio's terms. All its
// handlers run on the one poller goroutine.
type client struct {
	sess    *resp.Session
	in      []byte // the start of a command not complete yet
	out     []byte
	pending int  // bytes given to Write that nbio has not written yet
	closing bool // QUIT or a protocol error: close once the output is written
}

func main() {
	addr := flag.String("addr", "127.0.0.1:6380", "TCP address to listen on")
	flag.Parse()
	log.SetFlags(0)
	logging.SetLevel(logging.LevelError)

	st := resp.NewStore()
	engine := nbio.NewEngine(nbio.Config{
		Network: "tcp",
		Addrs:   []string{*addr},
		NPoller: 1,
	})
	engine.OnData(func(c *nbio.Conn, data []byte) {
		// The session is made here, on the poller goroutine, on the first
		// data: OnOpen runs on the accepting goroutine.
		cl, _ := c.Session().(*client)
		if cl == nil {
			cl = &client{sess: resp.NewSession(st), out: make([]byte, 0, initialBuf)}
			c.SetSession(cl)
		}
		if cl.closing {
			return // drop what it sends; OnWrittenSize closes it
		}
		in := data
		if len(cl.in) > 0 {
			cl.in = append(cl.in, data...)
			in = cl.in
		}
		used, out, err := cl.sess.Process(in, cl.out[:0])
		// Keep the rest (a command not complete yet) in the session's own
		// buffer: data belongs to nbio after this call.
		switch rest := in[used:]; {
		case len(rest) == 0:
			cl.in = cl.in[:0]
			if cap(cl.in) > keepCap {
				cl.in = nil
			}
		case len(cl.in) > 0:
			cl.in = cl.in[:copy(cl.in, rest)]
		default:
			cl.in = append(cl.in[:0], rest...)
		}
		if len(out) > 0 {
			cl.pending += len(out)
			if _, werr := c.Write(out); werr != nil {
				return // nbio closed it
			}
		}
		if cap(out) > keepCap {
			out = make([]byte, 0, initialBuf)
		}
		cl.out = out[:0]
		if err != nil { // resp.ErrQuit or resp.ErrProtocol
			cl.closing = true
			cl.in = nil
			if cl.pending == 0 {
				c.Close()
			}
		}
	})
	engine.OnWrittenSize(func(c *nbio.Conn, _ []byte, n int) {
		cl, _ := c.Session().(*client)
		if cl == nil {
			return
		}
		cl.pending -= n
		if cl.closing && cl.pending == 0 {
			// Called with the connection's lock held (inside Write or the
			// poller's flush): close it from another goroutine.
			go c.Close()
		}
	})

	if err := engine.Start(); err != nil {
		log.Fatalf("nbio: %v", err)
	}
	log.Printf("nbioping listening on %s (nbio, one poller)", *addr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
	engine.Stop()
}
