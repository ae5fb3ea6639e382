//go:build unix

package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux/internal/resp/resptest"
)

var (
	soakConns    = flag.Int("soak.conns", 300, "TestSoak: concurrent client connections (the full soak: 5000)")
	soakDuration = flag.Duration("soak.duration", 4*time.Second, "TestSoak: how long clients send (the full soak: 60s)")
	soakLoops    = flag.Int("soak.loops", 1, "TestSoak: the server's event loops")
)

// TestSoak drives the server with many connections that pipeline random
// SET, GET, INCR, DEL and MGET commands on their own keys and INCR on
// shared counters, for a bounded time, and checks every single reply
// against a model of what the server must answer: nothing lost, nothing
// reordered, nothing corrupted. Clients disconnect at random, some in the
// middle of a pipeline (half of those with a reset), and reconnect; a
// client cut off mid-pipeline cannot know which of its commands ran, so it
// goes on with fresh keys, and the shared counters are checked against the
// range of what may have run. CI runs it small; the full size is
//
//	go test ./cmd/aeserver -run TestSoak -soak.conns 5000 -soak.duration 60s -v
func TestSoak(t *testing.T) {
	conns, dur := *soakConns, *soakDuration
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if need := uint64(2*conns + 200); uint64(lim.Cur) < need {
		lim.Cur = lim.Max // the field is int64 on some BSDs, uint64 elsewhere
		require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim))
		if uint64(lim.Cur) < need {
			t.Skipf("the fd limit %d is below the %d this soak needs (client and server in one process)", lim.Cur, need)
		}
	}
	// A client reconnects as soon as it has closed, before the server may
	// have seen the close: leave room for both.
	// The clients connect all at once, and again after every drop: a
	// backlog as deep as the kernel allows (Redis's default of 511
	// overflows, and a SYN-cookie connection the server never saw is reset).
	ts := startServer(t, func(c *config) { c.maxClients, c.loops, c.backlog = 2*conns, *soakLoops, 65535 })

	const shared = 8
	var (
		checked, reconnects, dropped atomic.Int64
		sharedIncr                   [shared]atomic.Int64 // INCRs whose reply was seen
		sharedMaybe                  [shared]atomic.Int64 // INCRs sent on a dropped pipeline
		failures                     = make(chan string, 100)
	)
	fail := func(format string, a ...any) {
		select {
		case failures <- fmt.Sprintf(format, a...):
		default:
		}
	}
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for id := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(id), 7))
			sc := soakClient{id: id, model: map[string]string{}}
			for time.Now().Before(deadline) {
				if err := sc.connect(ts.addr); err != nil {
					fail("client %d: connect: %v", id, err)
					return
				}
				for time.Now().Before(deadline) {
					batch := sc.batch(rng, shared)
					if rng.IntN(200) == 0 { // drop the connection mid-pipeline
						sc.conn.Write(batch.req[:rng.IntN(len(batch.req)+1)])
						if rng.IntN(2) == 0 {
							sc.conn.(*net.TCPConn).SetLinger(0) // a reset
						}
						sc.conn.Close()
						sc.forget()
						for _, k := range batch.shared {
							sharedMaybe[k].Add(1)
						}
						dropped.Add(1)
						break
					}
					if err := sc.run(batch); err != "" {
						fail("client %d: %s", id, err)
						return
					}
					for _, k := range batch.shared {
						sharedIncr[k].Add(1)
					}
					checked.Add(int64(len(batch.want)))
					if rng.IntN(100) == 0 { // a clean disconnect
						sc.conn.Close()
						break
					}
				}
				reconnects.Add(1)
			}
			if sc.conn != nil {
				sc.conn.Close()
			}
		}()
	}
	wg.Wait()
	close(failures)
	nfail := 0
	for f := range failures {
		t.Error(f)
		nfail++
	}
	// The shared counters: every INCR whose reply was seen was applied;
	// those of dropped pipelines may or may not have been.
	c := dial(t, ts.addr)
	for k := range shared {
		v := c.do("GET", "shared:"+strconv.Itoa(k))
		n, _ := strconv.ParseInt(v.Str, 10, 64)
		lo, hi := sharedIncr[k].Load(), sharedIncr[k].Load()+sharedMaybe[k].Load()
		assert.True(t, n >= lo && n <= hi, "shared:%d is %d, want %d to %d", k, n, lo, hi)
	}
	t.Logf("soak: %d connections for %v: %d replies checked, %d errors, %d reconnects (%d mid-pipeline)",
		conns, dur, checked.Load(), nfail, reconnects.Load(), dropped.Load())
	require.Positive(t, checked.Load())
	assert.Contains(t, c.do("INFO", "stats").Str, "rejected_connections:0\r\n")
}

// soakClient is one client's view: the values of its own keys, named
// after the client and its generation, which a mid-pipeline drop bumps.
type soakClient struct {
	id, gen int
	conn    net.Conn
	r       *bufio.Reader
	model   map[string]string // key -> value; a missing key is absent
	buf     []byte
}

type soakBatch struct {
	req    []byte
	want   []string // the expected raw reply of each command; "*" for any integer
	shared []int    // the shared counters incremented
}

func (sc *soakClient) connect(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	sc.conn, sc.r = c, bufio.NewReader(c)
	return nil
}

func bulk(v string) string { return "$" + strconv.Itoa(len(v)) + "\r\n" + v + "\r\n" }

func (sc *soakClient) get(k string) string {
	if v, ok := sc.model[k]; ok {
		return bulk(v)
	}
	return "$-1\r\n"
}

// batch makes 1 to 32 commands and what the server must answer to each,
// updating the model as the server will.
func (sc *soakClient) batch(rng *rand.Rand, shared int) soakBatch {
	var b soakBatch
	prefix := "c" + strconv.Itoa(sc.id) + "." + strconv.Itoa(sc.gen) + ":"
	for range 1 + rng.IntN(32) {
		k := prefix + strconv.Itoa(rng.IntN(4))
		var w string
		switch op := rng.IntN(7); op {
		case 0, 1:
			v := strconv.FormatUint(rng.Uint64(), 36)
			if rng.IntN(10) == 0 {
				v = string(make([]byte, rng.IntN(20000))) // large, binary
			}
			b.req = resptest.AppendCommand(b.req, "SET", k, v)
			sc.model[k], w = v, "+OK\r\n"
		case 2:
			b.req = resptest.AppendCommand(b.req, "GET", k)
			w = sc.get(k)
		case 3:
			k = prefix + "n"
			n, _ := strconv.ParseInt(sc.model[k], 10, 64)
			b.req = resptest.AppendCommand(b.req, "INCR", k)
			sc.model[k] = strconv.FormatInt(n+1, 10)
			w = ":" + sc.model[k] + "\r\n"
		case 4:
			_, had := sc.model[k]
			b.req = resptest.AppendCommand(b.req, "DEL", k)
			delete(sc.model, k)
			w = ":0\r\n"
			if had {
				w = ":1\r\n"
			}
		case 5:
			k2 := prefix + strconv.Itoa(rng.IntN(4))
			b.req = resptest.AppendCommand(b.req, "MGET", k, k2)
			w = "*2\r\n" + sc.get(k) + sc.get(k2)
		case 6:
			s := rng.IntN(shared)
			b.req = resptest.AppendCommand(b.req, "INCR", "shared:"+strconv.Itoa(s))
			b.shared = append(b.shared, s)
			w = "*" // any integer
		}
		b.want = append(b.want, w)
	}
	return b
}

// forget starts over with fresh keys after a pipeline was cut off: which
// of its commands ran, and when, is unknown.
func (sc *soakClient) forget() {
	sc.gen++
	clear(sc.model)
}

// run sends the batch and checks every reply; it returns what went wrong.
func (sc *soakClient) run(b soakBatch) string {
	sc.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := sc.conn.Write(b.req); err != nil {
		return "write: " + err.Error()
	}
	for i, w := range b.want {
		raw, err := sc.readReply()
		if err != nil {
			return fmt.Sprintf("reply %d of %d: %v", i, len(b.want), err)
		}
		switch {
		case w == "*":
			if r, _, err := resptest.ParseReply(raw); err != nil || r.Kind != ':' || r.Int < 1 {
				return fmt.Sprintf("reply %d: shared INCR answered %.60q", i, raw)
			}
		case string(raw) != w:
			return fmt.Sprintf("reply %d: got %.80q, want %.80q", i, raw, w)
		}
	}
	return ""
}

func (sc *soakClient) readReply() ([]byte, error) { return readReply(sc.r, &sc.buf) }
