package main

import (
	"bytes"
	"io"
	"log"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/internal/resp/resptest"
)

// The attacks of issue 19, each against the in-process server on every
// backend built here and every readiness mode it has (eachMode); the ones
// that need the binary under an fd limit or /proc are in attack_unix_test.go.
// Every attack is bounded in connections and time, on 127.0.0.1.

// eachMode runs f once per backend built here and mode it offers: epoll
// and kqueue edge- and level-triggered, poll and iocp level-triggered.
// mod configures the server for it.
func eachMode(t *testing.T, f func(t *testing.T, mod func(*config))) {
	for _, name := range mux.Backends() {
		modes := []bool{true} // level
		if p, err := mux.Open(16, mux.WithBackend(name), mux.WithMode(mux.Edge)); err == nil {
			p.Close()
			modes = []bool{false, true}
		}
		for _, level := range modes {
			label := name + "/edge"
			if level {
				label = name + "/level"
			}
			t.Run(label, func(t *testing.T) {
				f(t, func(c *config) { c.backend, c.level = name, level })
			})
		}
	}
}

// holdLoop keeps loop 0 busy in a posted function until the returned
// release is called, so that what clients send meanwhile arrives together,
// as it does on a loaded server.
func holdLoop(t *testing.T, ts *testServer) (release func()) {
	t.Helper()
	started, hold := make(chan struct{}), make(chan struct{})
	require.NoError(t, ts.s.loops[0].l.Post(func(*aeloop.Loop) { close(started); <-hold }))
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not run a posted function within 10 s")
	}
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release)
	return release
}

// connectedClients reads connected_clients from INFO.
func connectedClients(t *testing.T, c *tconn) int {
	t.Helper()
	return infoInt(t, c, "clients", "connected_clients")
}

func infoInt(t *testing.T, c *tconn, section, field string) int {
	t.Helper()
	info := c.do("INFO", section).Str
	m := regexp.MustCompile(field + `:(\d+)`).FindStringSubmatch(info)
	require.NotNil(t, m, "no %s in %s", field, info)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

// Issue 19, item 1: a client that sends a request and ends its side of the
// stream at once (the FIN arrives with the data) gets its reply and is
// closed; so is one that closes in the middle of a request. Edge-triggered,
// the hang-up comes with the data in a single event: a server that takes a
// short read for "nothing left" never sees the end of stream, and the
// socket stays in CLOSE_WAIT, counted against maxclients, for good.
func TestHalfClosedClients(t *testing.T) {
	eachMode(t, func(t *testing.T, mod func(*config)) {
		ts := startServer(t, mod)
		bystander := dial(t, ts.addr)
		require.Equal(t, "PONG", bystander.do("PING").Str)
		release := holdLoop(t, ts)
		const pings, partial = 40, 20
		var conns []*tconn
		for range pings {
			c := dial(t, ts.addr)
			c.send([]byte("PING\r\n"))
			require.NoError(t, c.c.(*net.TCPConn).CloseWrite())
			conns = append(conns, c)
		}
		for range partial {
			c := dial(t, ts.addr)
			c.send([]byte("*1\r\n$4\r\nPI"))
			c.c.Close()
		}
		release()
		for i, c := range conns {
			c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(c.c)
			require.NoError(t, err, "client %d: the server did not close the half-closed connection (got %q)", i, got)
			require.Equal(t, "+PONG\r\n", string(got), "client %d", i)
		}
		require.Eventually(t, func() bool { return connectedClients(t, bystander) == 1 }, 5*time.Second, 20*time.Millisecond,
			"clients that closed are still connected")
	})
}

// Issue 19, item 2: the query buffer follows the bytes a client sent, not
// the length it declared: "*1\r\n$536870912\r\n" and a byte must not cost
// 1 GiB (it did: the buffer was sized from the declared length and
// doubled), and a large argument that really arrives costs about its size.
func TestDeclaredLengthIsNotAllocated(t *testing.T) {
	eachMode(t, func(t *testing.T, mod func(*config)) {
		ts := startServer(t, mod)
		bystander := dial(t, ts.addr)
		huge := dial(t, ts.addr)
		huge.send([]byte("*1\r\n$536870912\r\nx"))
		big := dial(t, ts.addr)
		const sent = 300 << 10
		big.send(append([]byte("*2\r\n$4\r\nECHO\r\n$8388608\r\n"), bytes.Repeat([]byte("y"), sent)...))
		// Once the server has read it all, see what it holds for them.
		var caps, qlens []int
		require.Eventually(t, func() bool {
			caps, qlens = caps[:0], qlens[:0]
			total := 0
			ts.onLoop(t, 0, func(lp *evloop) {
				for c := range lp.clients() {
					caps, qlens = append(caps, c.conn.Memory()), append(qlens, c.conn.Buffered())
					total += c.conn.Buffered()
				}
			})
			return total >= sent+17
		}, 10*time.Second, 10*time.Millisecond, "the server did not read what was sent")
		for i, n := range caps {
			assert.LessOrEqual(t, n, 4*max(qlens[i], readChunk), "a query buffer of %d bytes for %d bytes received", n, qlens[i])
		}
		assert.Equal(t, "PONG", bystander.do("PING").Str)
		// The rest of the argument, when it comes, is served.
		big.send(bytes.Repeat([]byte("y"), 8<<20-sent))
		big.send([]byte("\r\n"))
		assert.Len(t, big.read().Str, 8<<20)
		huge.c.Close()
		require.Eventually(t, func() bool { return connectedClients(t, bystander) == 2 }, 5*time.Second, 10*time.Millisecond)
	})
}

// Issue 19, item 3: argument counts are bounded (more than 1024*1024 is
// "invalid multibulk length"), and the memory of the argument list counts
// against -client-query-buffer-limit: "$0\r\n\r\n" is 6 bytes of input but
// 16 of list, so a client under the limit by its input alone could hold
// several times the limit.
func TestArgumentCountLimits(t *testing.T) {
	eachMode(t, func(t *testing.T, mod func(*config)) {
		ts := startServer(t, func(c *config) { mod(c); c.maxQuery = 1 << 20 })
		bystander := dial(t, ts.addr)

		c := dial(t, ts.addr)
		c.send([]byte("*1048577\r\n$4\r\nPING\r\n"))
		assert.Equal(t, "-ERR Protocol error: invalid multibulk length\r\n", string(c.readRaw()))
		assert.True(t, c.closedByPeer(5*time.Second))

		// 600 KB of empty arguments: under the 1 MiB limit as input, over
		// it with the 1.6 MB list they make.
		c = dial(t, ts.addr)
		c.send([]byte("*1000000\r\n"))
		c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		c.c.Write(bytes.Repeat([]byte("$0\r\n\r\n"), 100_000)) // may fail once the server has closed
		assert.True(t, c.closedByPeer(5*time.Second), "a client holding a list over the query limit stays connected")
		assert.Equal(t, "PONG", bystander.do("PING").Str)

		// Under the limit, a request of many arguments is served, and the
		// list is given back once the client is idle.
		args := make([]string, 20_001)
		args[0] = "DEL"
		for i := range 20_000 {
			args[i+1] = "k" + strconv.Itoa(i)
		}
		assert.Equal(t, int64(0), bystander.do(args...).Int)
		require.Eventually(t, func() bool {
			held := 0
			ts.onLoop(t, 0, func(lp *evloop) {
				for cl := range lp.clients() {
					held += cl.parser.Footprint()
				}
			})
			return held <= shrinkQueryAbove
		}, 10*time.Second, 50*time.Millisecond, "the argument list of a large request is kept while the client is idle")
	})
}

// blockingWriter blocks every Write until released: a stderr that nobody
// reads.
type blockingWriter struct{ release chan struct{} }

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	return len(p), nil
}

// Issue 19, item 4: with the log's writer blocked (stderr a full pipe),
// protocol errors by the hundred neither stop the loop nor keep the server
// from stopping.
func TestLogNeverBlocksTheLoop(t *testing.T) {
	eachMode(t, func(t *testing.T, mod func(*config)) {
		w := &blockingWriter{release: make(chan struct{})}
		t.Cleanup(func() { close(w.release) }) // after the server's cleanup: its log writer ends
		ts := startServer(t, func(c *config) { mod(c); c.logger = log.New(w, "", 0) })
		bystander := dial(t, ts.addr)
		for i := range 2 * logQueue {
			c := dial(t, ts.addr)
			c.send([]byte("*abc\r\n"))
			require.Equal(t, "-ERR Protocol error: invalid multibulk length\r\n", string(c.readRaw()), "request %d", i)
			c.c.Close()
			if i%64 == 0 {
				require.Equal(t, "PONG", bystander.do("PING").Str)
			}
		}
		bystander.c.SetDeadline(time.Now().Add(2 * time.Second))
		assert.Equal(t, "PONG", bystander.do("PING").Str)
	})
}

// lineLog collects a server's log lines.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func (l *lineLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// Issue 19, item 4: one client cannot make the log grow faster than the
// per-second budget, what is left out is counted, and no byte it sent is
// written raw (an escape sequence for the terminal, here).
func TestLogBudgetAndQuoting(t *testing.T) {
	eachMode(t, func(t *testing.T, mod func(*config)) {
		lines := &lineLog{}
		ts := startServer(t, func(c *config) { mod(c); c.logger = log.New(lines, "", 0) })
		start := time.Now()
		const bad = 300
		for range bad {
			c := dial(t, ts.addr)
			c.send([]byte("*1\r\n\x1b[2J\r\n"))
			require.Equal(t, "-ERR Protocol error: expected '$', got '\x1b'\r\n", string(c.readRaw()))
			c.c.Close()
		}
		// The suppressed count comes within a second or two (the cron).
		require.Eventually(t, func() bool {
			return strings.Contains(strings.Join(lines.get(), "\n"), "messages suppressed")
		}, 5*time.Second, 20*time.Millisecond, "no count of suppressed messages:\n%s", strings.Join(lines.get(), "\n"))
		got := lines.get()
		seconds := int(time.Since(start)/time.Second) + 2
		protocol := 0
		for _, l := range got {
			if strings.Contains(l, "protocol error") {
				protocol++
				assert.Contains(t, l, `\x1b`, "the client's byte is not escaped: %q", l)
			}
			for _, b := range []byte(l) {
				require.False(t, b < 0x20 || b >= 0x7f, "a raw byte %#x in the log: %q", b, l)
			}
		}
		assert.LessOrEqual(t, protocol, clientLogBudget*seconds, "%d protocol error lines in about %d s", protocol, seconds)
		assert.Positive(t, protocol)
	})
}

// Issue 19, item 5: -timeout closes a client that makes no progress, also
// when it has unsent output (it asks for replies and never reads them);
// one that reads its replies slowly but steadily is not closed.
func TestTimeoutWithUnsentOutput(t *testing.T) {
	eachMode(t, func(t *testing.T, mod func(*config)) {
		ts := startServer(t, func(c *config) { mod(c); c.idle, c.hz = time.Second, 50 })
		value := strings.Repeat("v", 1<<20)
		setter := dial(t, ts.addr)
		require.Equal(t, "OK", setter.do("SET", "big", value).Str)
		var req []byte
		for range 16 {
			req = resptest.AppendCommand(req, "GET", "big")
		}
		stuck := dial(t, ts.addr)
		stuckID := stuck.do("CLIENT", "ID").Int
		stuck.send(req)
		slow := dial(t, ts.addr)
		slow.send(req)
		// The slow reader takes 16 MiB at about 8 MiB/s, for longer than
		// -timeout; the stuck one takes nothing.
		start := time.Now()
		buf := make([]byte, 32<<10)
		got := 0
		slow.c.SetReadDeadline(time.Now().Add(20 * time.Second))
		var gap time.Duration // the longest the reader itself went without reading
		for last := time.Now(); got < 16*(len(value)+len("$1048576\r\n\r\n")); {
			n, err := slow.c.Read(buf)
			if err != nil && gap > 500*time.Millisecond {
				t.Skipf("the reader was closed after %d bytes, but it was itself starved for %v (a loaded machine): the test cannot tell", got, gap)
			}
			require.NoError(t, err, "the slow reader was closed after %d bytes, %v", got, time.Since(start))
			got += n
			gap = max(gap, time.Since(last))
			time.Sleep(4 * time.Millisecond)
			last = time.Now()
		}
		assert.Greater(t, time.Since(start), time.Second, "the reply went faster than -timeout: the test shows nothing")
		// The stuck client is gone, without reading a byte.
		require.Eventually(t, func() bool {
			found := false
			ts.onLoop(t, 0, func(lp *evloop) {
				for c := range lp.clients() {
					found = found || c.id == uint64(stuckID)
				}
			})
			return !found
		}, 5*time.Second, 50*time.Millisecond, "a client with unsent output and no progress was not closed by -timeout")
	})
}

// Issue 19, item 5: -maxmemory-clients bounds what all clients' buffers
// hold together (-pause-output bounds each): clients that pipeline large
// GETs and never read are evicted, largest first, and the others go on.
func TestMaxMemoryClients(t *testing.T) {
	eachMode(t, func(t *testing.T, mod func(*config)) {
		const limit = 8 << 20
		ts := startServer(t, func(c *config) { mod(c); c.maxClientMem, c.pauseOutput, c.hz = limit, 1<<20, 50 })
		value := strings.Repeat("v", 256<<10)
		bystander := dial(t, ts.addr)
		require.Equal(t, "OK", bystander.do("SET", "big", value).Str)
		var req []byte
		for range 40 {
			req = resptest.AppendCommand(req, "GET", "big")
		}
		const hogs = 16
		for range hogs {
			c := dial(t, ts.addr)
			go c.c.Write(req) // blocks once the server stops reading; fails once it closed
		}
		require.Eventually(t, func() bool { return infoInt(t, bystander, "stats", "evicted_clients") > 0 }, 10*time.Second, 20*time.Millisecond,
			"no client was evicted")
		// That the clients' memory then stays under the limit is the
		// layer's to show: tests.RunConn's Limits/MaxMemory.
		assert.Equal(t, "PONG", bystander.do("PING").Str)
		assert.Less(t, connectedClients(t, bystander), hogs+1)
		assert.Equal(t, "*2\r\n$17\r\nmaxmemory-clients\r\n$7\r\n8388608\r\n", bystander.doRaw("CONFIG", "GET", "maxmemory-clients"))
	})
}
