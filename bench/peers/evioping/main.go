// Command evioping is a RESP server on evio (github.com/tidwall/evio),
// written the way evio's README and its redis-server example write a server:
// an evio.Events value with Serving, Opened and Data handlers, an
// evio.InputStream per connection (in the connection's context) holding a
// command that is not complete yet, and the replies returned from Data. It
// runs one loop (Events.NumLoops = 1). Commands and parser: package resp
// (PING, ECHO, SET, GET, CONFIG GET, COMMAND, QUIT). It is a reference peer
// for the benchmark harness, not a product.
//
// After QUIT or malformed input Data returns evio.Close with the replies;
// evio writes them all before it closes the connection. evio can be stopped
// only from one of its handlers, so a Tick handler (every 250 ms) ends the
// loop once SIGTERM or SIGINT arrived (exit status 0).
//
// Usage: evioping [-addr 127.0.0.1:6380].
package main

import (
	"flag"
	"log"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tidwall/evio"

	"peers/resp"
)

const (
	initialOut = 4 << 10 // a connection's reply buffer to start with
	keepOutCap = 1 << 20 // drop reply buffers that grew past this
	tick       = 250 * time.Millisecond
)

// client is one connection's state, in its context.
type client struct {
	is   evio.InputStream
	sess *resp.Session
	out  []byte
}

func main() {
	addr := flag.String("addr", "127.0.0.1:6380", "TCP address to listen on")
	flag.Parse()
	log.SetFlags(0)

	var stopping atomic.Bool
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		stopping.Store(true)
	}()

	st := resp.NewStore()
	var events evio.Events
	events.NumLoops = 1
	events.Serving = func(evio.Server) evio.Action {
		log.Printf("evioping listening on %s (evio, one loop)", *addr)
		return evio.None
	}
	events.Opened = func(c evio.Conn) ([]byte, evio.Options, evio.Action) {
		c.SetContext(&client{sess: resp.NewSession(st), out: make([]byte, 0, initialOut)})
		return nil, evio.Options{}, evio.None
	}
	events.Data = func(c evio.Conn, in []byte) ([]byte, evio.Action) {
		cl := c.Context().(*client)
		data := cl.is.Begin(in)
		used, out, err := cl.sess.Process(data, cl.out[:0])
		cl.is.End(data[used:])
		if cap(out) > keepOutCap {
			cl.out = make([]byte, 0, initialOut)
		} else {
			cl.out = out[:0] // evio copies out before the next call
		}
		if err != nil { // resp.ErrQuit or resp.ErrProtocol
			return out, evio.Close
		}
		return out, evio.None
	}
	events.Tick = func() (time.Duration, evio.Action) {
		if stopping.Load() {
			return tick, evio.Shutdown
		}
		return tick, evio.None
	}
	if err := evio.Serve(events, "tcp://"+*addr); err != nil {
		log.Fatal(err)
	}
}
