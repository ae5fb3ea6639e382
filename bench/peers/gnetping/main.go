// Command gnetping is a RESP server on gnet v2 (github.com/panjf2000/gnet/v2),
// written the way gnet's README and examples write a server: an event handler
// embedding gnet.BuiltinEventEngine, per-connection state in the
// connection's context, and OnTraffic peeking at everything buffered,
// discarding what it parsed and writing the replies with Conn.Write. It runs
// one event loop (gnet.WithMulticore(false), gnet.WithNumEventLoop(1)), in
// gnet's default level-triggered mode. Commands and parser: package resp (PING,
// ECHO, SET, GET, CONFIG GET, COMMAND, QUIT). It is a reference peer for the
// benchmark harness, not a product.
//
// After QUIT or malformed input the connection is closed once its replies
// are written. gnet's close writes what is still buffered only as far as the
// socket takes it without blocking, so a connection whose replies wait for a
// slow reader is closed later: gnet's ticker wakes it every 10 ms until its
// output buffer is empty.
//
// Usage: gnetping [-addr 127.0.0.1:6380]. SIGTERM or SIGINT stops it (exit
// status 0).
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"

	"peers/resp"
)

const (
	initialOut = 4 << 10 // a connection's reply buffer to start with
	keepOutCap = 1 << 20 // drop reply buffers that grew past this
	closeCheck = 10 * time.Millisecond
	idleTick   = time.Second
)

// server is the gnet event handler.
type server struct {
	gnet.BuiltinEventEngine
	addr   string
	st     *resp.Store
	booted chan gnet.Engine // the engine, once OnBoot ran

	mu      sync.Mutex            // guards closing: the loop and the ticker use it
	closing map[gnet.Conn]*client // connections waiting for their output to drain
}

// client is one connection's state, in its context.
type client struct {
	sess    *resp.Session
	out     []byte
	closing bool // QUIT or a protocol error: close once the output is written
}

func (s *server) OnBoot(eng gnet.Engine) gnet.Action {
	s.booted <- eng
	log.Printf("gnetping listening on %s (gnet v2, one event loop)", s.addr)
	return gnet.None
}

func (s *server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	c.SetContext(&client{sess: resp.NewSession(s.st), out: make([]byte, 0, initialOut)})
	return nil, gnet.None
}

func (s *server) OnClose(c gnet.Conn, _ error) gnet.Action {
	if cl := c.Context().(*client); cl.closing {
		s.mu.Lock()
		delete(s.closing, c)
		s.mu.Unlock()
	}
	return gnet.None
}

func (s *server) OnTraffic(c gnet.Conn) gnet.Action {
	cl := c.Context().(*client)
	if cl.closing { // drop what it sends; close once the replies are out
		_, _ = c.Discard(-1)
		if c.OutboundBuffered() == 0 {
			return gnet.Close
		}
		return gnet.None
	}
	buf, _ := c.Peek(-1)
	used, out, err := cl.sess.Process(buf, cl.out[:0])
	if used > 0 { // Discard(0) would drop everything buffered
		_, _ = c.Discard(used)
	}
	if len(out) > 0 {
		if _, werr := c.Write(out); werr != nil {
			return gnet.Close
		}
	}
	if cap(out) > keepOutCap {
		out = make([]byte, 0, initialOut)
	}
	cl.out = out[:0]
	if err != nil { // resp.ErrQuit or resp.ErrProtocol
		if c.OutboundBuffered() == 0 {
			return gnet.Close
		}
		cl.closing = true
		_, _ = c.Discard(-1)
		s.mu.Lock()
		s.closing[c] = cl
		s.mu.Unlock()
	}
	return gnet.None
}

// OnTick runs on gnet's ticker goroutine: it wakes every connection waiting
// to close, so that OnTraffic (on the loop) can close those whose output is
// gone.
func (s *server) OnTick() (time.Duration, gnet.Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.closing {
		_ = c.Wake(nil)
	}
	if len(s.closing) > 0 {
		return closeCheck, gnet.None
	}
	return idleTick, gnet.None
}

func main() {
	addr := flag.String("addr", "127.0.0.1:6380", "TCP address to listen on")
	flag.Parse()
	log.SetFlags(0)

	s := &server{addr: *addr, st: resp.NewStore(), booted: make(chan gnet.Engine, 1), closing: make(map[gnet.Conn]*client)}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		eng := <-s.booted
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := eng.Stop(sctx); err != nil {
			log.Printf("gnet: Stop: %v", err)
			os.Exit(1)
		}
	}()
	err := gnet.Run(s, "tcp://"+*addr,
		gnet.WithMulticore(false),
		gnet.WithNumEventLoop(1),
		gnet.WithTicker(true),
		gnet.WithLogLevel(logging.ErrorLevel),
	)
	if err != nil {
		log.Fatal(err)
	}
}
