// Command gnethttp is the gnet v2 peer of examples/aehttp for bench/http.sh:
// TechEmpower's plaintext and json (GET /plaintext, GET /json), keep-alive
// and pipelining, written the way gnet's own examples write a server: an
// event engine embedding gnet.BuiltinEventEngine, a per-connection codec in
// the conn's context, OnTraffic peeking at the inbound buffer, parsing
// every complete request, writing all replies at once and discarding what
// it parsed. The Date header is refreshed by gnet's ticker (OnTick) every
// second. It is a reference peer for the benchmark, not a product.
package main

import (
	"flag"
	"log"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

type httpServer struct {
	gnet.BuiltinEventEngine
	addr      string
	multicore bool
	eng       gnet.Engine
	date      atomic.Pointer[[]byte]
	started   chan struct{}
}

func (hs *httpServer) OnBoot(eng gnet.Engine) gnet.Action {
	hs.eng = eng
	hs.refreshDate()
	log.Printf("gnethttp: listening on %s (multicore: %t)", hs.addr, hs.multicore)
	if hs.started != nil {
		close(hs.started)
	}
	return gnet.None
}

func (hs *httpServer) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	c.SetContext(&httpCodec{})
	return nil, gnet.None
}

func (hs *httpServer) OnTraffic(c gnet.Conn) gnet.Action {
	hc := c.Context().(*httpCodec)
	buf, _ := c.Peek(-1)
	n := len(buf)
	date := *hs.date.Load()
	closing := false
	for len(buf) > 0 {
		used, req, err := hc.parse(buf)
		if err != nil {
			hc.appendError(err, date)
			closing = true
			buf = nil
			break
		}
		if used == 0 {
			break // incomplete: the rest stays in gnet's buffer
		}
		hc.appendResponse(req, date)
		buf = buf[used:]
		if req.close {
			closing = true
			break
		}
	}
	if len(hc.out) > 0 {
		c.Write(hc.out)
	}
	hc.out = hc.out[:0]
	c.Discard(n - len(buf))
	if closing {
		return gnet.Close
	}
	return gnet.None
}

func (hs *httpServer) OnTick() (time.Duration, gnet.Action) {
	hs.refreshDate()
	return time.Second, gnet.None
}

func (hs *httpServer) refreshDate() {
	d := time.Now().UTC().AppendFormat(nil, "Mon, 02 Jan 2006 15:04:05 GMT")
	hs.date.Store(&d)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "TCP address to listen on")
	multicore := flag.Bool("multicore", false, "one event loop per CPU")
	flag.Parse()
	hs := &httpServer{addr: "tcp://" + *addr, multicore: *multicore}
	log.Fatal(gnet.Run(hs, hs.addr, gnet.WithMulticore(*multicore), gnet.WithTicker(true)))
}
