package main

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"log"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeconn"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/anet"
	"github.com/aemux/mux/internal/resp"
)

// config is the server's configuration, from the command line.
type config struct {
	addr         string        // TCP address; "" for none
	backlog      int           // listen(2) backlog (tcp-backlog)
	unixPath     string        // Unix socket path; "" for none
	unixPerm     os.FileMode   // its permissions
	backend      string        // "" for the platform default
	level        bool          // level-triggered readiness even where edge-triggered is available
	acceptBatch  int           // connections accepted per listener event at most; 0: aeconn's default (1000)
	loops        int           // event loops, each on its own OS thread
	maxClients   int           // connected clients at most
	maxBulk      int64         // proto-max-bulk-len
	maxQuery     int           // client-query-buffer-limit
	pauseOutput  int           // a client's unsent output above which its input is not read
	maxClientMem int64         // maxmemory-clients: all clients' buffers together, bytes; 0: no limit
	hz           int           // serverCron frequency
	idle         time.Duration // close clients without read or write progress this long; 0: never
	logger       *log.Logger

	maxClientsGiven bool // -maxclients was on the command line (for the log line if it is lowered)
}

// Defaults, as in redis.conf where Redis has the setting.
const (
	defaultMaxClients   = 10000
	defaultMaxQuery     = 1 << 30
	defaultPauseOutput  = 1 << 20
	defaultHz           = 10
	readChunk           = 16 << 10         // PROTO_IOBUF_LEN: one read, into the loop's buffer
	shrinkQueryAbove    = 32 << 10         // argument lists larger than this are freed once a request is done
	defaultMaxClientMem = 1 << 30          // maxmemory-clients: room for one proto-max-bulk-len argument
	fdLogEvery          = 10 * time.Second // out of fds: one log line this often at most
	keepReplyBuffer     = 1 << 20          // a loop's reply buffer larger than this is not kept
)

// server is the process-wide state: the keyspace, the connection layer
// (package aeconn: accepting, buffers, writes, the limits on clients) and
// the counters that INFO reports.
type server struct {
	cfg   config
	db    *db
	conns *aeconn.Server[client]
	loops []*evloop
	start time.Time
	port  int // the TCP port listened on (for INFO), 0 without TCP

	nextClientID atomic.Uint64
	opsPerSec    atomic.Int64
	lastFdLog    atomic.Int64 // unix ns of the last out-of-fds log line
	lowered      bool         // aeconn.New lowered maxclients to fit the fd limit

	log *logger // asynchronous, rate-limited (see log.go)

	cmdsAtLastCron uint64 // loop 0's cron: for instantaneous_ops_per_sec
	lastCron       time.Time
	stopOnce       sync.Once
}

// evloop is what the server keeps per event loop; it is only touched by
// that loop's goroutine.
type evloop struct {
	srv *server
	id  int
	cl  *aeconn.Loop[client]
	l   *aeloop.Loop
	// The replies of the running OnData call, which commands append to,
	// written to the conn at its end: one buffer per loop, not per client.
	out []byte

	// total_commands_processed, counted per loop (so that loops do not
	// share a cache line) in a plain field, and published once per
	// iteration (Handler.BeforeSleep) for INFO, which sums the loops.
	ncmds    uint64
	commands atomic.Uint64
}

// client is one connection's Redis state: aeconn.Conn's Data.
type client struct {
	lp     *evloop
	conn   *aeconn.Conn[client]
	id     uint64
	parser resp.Parser

	name string // CLIENT SETNAME

	// The command this client ran last, by the name it used (call).
	lastName [16]byte
	lastLen  uint8
	lastCmd  *command

	closeAfterReply bool // QUIT or a protocol error: close once the replies are sent
}

var errNoListener = errors.New("aeserver: nothing to listen on (give -addr or -unix)")

var maxClientsReply = []byte("-ERR max number of clients reached\r\n")

// newServer opens the loops and the listeners.
func newServer(cfg config) (*server, error) {
	if cfg.addr == "" && cfg.unixPath == "" {
		return nil, errNoListener
	}
	s := &server{cfg: cfg, db: newDB(), start: time.Now(), lastCron: time.Now(), log: newLogger(cfg.logger)}
	var listen []aeconn.Listen
	if cfg.addr != "" {
		listen = append(listen, aeconn.Listen{Network: "tcp", Addr: cfg.addr})
	}
	if cfg.unixPath != "" {
		listen = append(listen, aeconn.Listen{Network: "unix", Addr: cfg.unixPath, Perm: cfg.unixPerm})
	}
	mode := mux.Edge
	if cfg.level {
		mode = mux.Level
	}
	period := time.Second / time.Duration(max(cfg.hz, 1))
	conns, err := aeconn.New(aeconn.Config{
		Listen: listen, Backlog: cfg.backlog, Backend: cfg.backend, Mode: mode, Loops: cfg.loops,
		MaxClients: cfg.maxClients, AcceptBatch: cfg.acceptBatch, ReadBuffer: readChunk,
		SoftOutput: cfg.pauseOutput, MaxInput: cfg.maxQuery, IdleTimeout: cfg.idle, CronInterval: period,
		MaxMemory: cfg.maxClientMem, RejectOutOfFds: true, ReleaseMemory: true,
	}, aeconn.Handler[client]{
		OnOpen: s.onOpen, OnData: onData, OnClose: s.onClose, OnError: s.onError,
		OnReject:  func(fd int) { anet.Write(fd, maxClientsReply) }, // best effort, as Redis: the socket is new, so its buffer has room
		Footprint: func(c *aeconn.Conn[client]) int { return c.Data.parser.Footprint() },
		// Once per iteration, before the replies go out: an atomic store
		// per read cost more than the counter is worth.
		BeforeSleep: func(cl *aeconn.Loop[client]) { s.loops[cl.Index()].publishCommands() },
	})
	if err != nil {
		s.log.close()
		return nil, err
	}
	s.conns = conns
	if s.lowered {
		from := "the default"
		if cfg.maxClientsGiven {
			from = "-maxclients"
		}
		// Once, at start, before the loops run (a blocked stderr cannot
		// stop a loop here).
		s.logf("maxclients lowered from %d (%s) to %d to fit the fd limit (ulimit -n); raise the limit for more clients",
			cfg.maxClients, from, conns.MaxClients())
		s.cfg.maxClients = conns.MaxClients()
	}
	if cfg.addr != "" {
		if _, port, err := net.SplitHostPort(conns.Addrs()[0]); err == nil {
			s.port, _ = strconv.Atoi(port)
		}
	}
	for i, cl := range conns.Loops() {
		s.loops = append(s.loops, &evloop{srv: s, id: i, cl: cl, l: cl.AE()})
	}
	if _, err := s.loops[0].l.AddTimer(period, func(*aeloop.Loop, int64, any) time.Duration {
		s.cron()
		return period
	}, nil, nil); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// serve runs every loop and returns when all have stopped: the first
// error, or nil after stop.
func (s *server) serve() error {
	for _, lp := range s.loops {
		lp.l.Post(func(*aeloop.Loop) { lowerTimerSlack() }) // on the loop's locked thread
	}
	return s.conns.Serve()
}

// stop makes every loop return from serve; safe from any goroutine, also
// before serve starts (a SIGTERM right after the listeners open).
func (s *server) stop() { s.stopOnce.Do(s.conns.Stop) }

// close releases everything; call it after serve returned.
func (s *server) close() error {
	err := s.conns.Close()
	s.log.close()
	return err
}

// clients iterates the loop's clients; on the loop's goroutine.
func (lp *evloop) clients() iter.Seq[*client] {
	return func(yield func(*client) bool) {
		lp.cl.Range(func(c *aeconn.Conn[client]) bool { return yield(&c.Data) })
	}
}

// logf logs a line of the server's own (start, stop, internal errors);
// it never blocks. Lines a client can cause go through clientf.
func (s *server) logf(format string, args ...any) { s.log.printf(format, args...) }

// clientf logs a line a client caused, within the log's per-second budget
// (see log.go). Bytes from the client must be passed through quoteClient.
func (s *server) clientf(format string, args ...any) { s.log.clientf(time.Now(), format, args...) }

// onOpen sets up an accepted connection's client (createClient).
func (s *server) onOpen(conn *aeconn.Conn[client]) {
	c := &conn.Data
	c.lp = s.loops[conn.Loop().Index()]
	c.conn = conn
	c.id = s.nextClientID.Add(1)
	c.parser.MaxBulk = s.cfg.maxBulk
}

// onData runs every complete command in what the client sent
// (processInputBuffer) and returns how much it consumed; the layer keeps
// the rest, an incomplete command, for the next read.
func onData(conn *aeconn.Conn[client], in []byte) int {
	c := &conn.Data
	lp := c.lp
	lp.out = lp.out[:0]
	used := c.runCommands(in, lp.cl.Now().UnixMilli())
	if len(lp.out) > 0 {
		conn.Write(lp.out)
	}
	if cap(lp.out) > keepReplyBuffer {
		lp.out = nil
	}
	if c.closeAfterReply {
		conn.CloseAfterWrite() // the rest of the input is ignored
		return len(in)
	}
	if used == len(in) {
		// Give back a large argument list once its request is done.
		c.parser.Shrink(shrinkQueryAbove)
		return used
	}
	c.checkQueryLimit(len(in) - used)
	return used
}

// checkQueryLimit closes a client whose unparsed input, together with the
// argument list parsed from it so far, passed -client-query-buffer-limit,
// as Redis does (without a reply; Redis counts its argv too). The list
// costs 16 bytes per argument even when the argument is empty, more than
// the 6 bytes of "$0\r\n\r\n" that announced it, so counting the input
// alone would let a client hold several times the limit.
func (c *client) checkQueryLimit(unparsed int) {
	if lim, used := c.lp.srv.cfg.maxQuery, unparsed+c.parser.Footprint(); used > lim {
		c.lp.srv.clientf("closing client id=%d: query buffer and arguments %d bytes, over the limit of %d", c.id, used, lim)
		c.conn.Close()
	}
}

// onClose logs why the layer closed a client, where a client caused it.
func (s *server) onClose(conn *aeconn.Conn[client], err error) {
	c := &conn.Data
	switch {
	case errors.Is(err, aeconn.ErrIdle):
		// -timeout counts from the client's last progress, a read or a
		// write that moved bytes (Redis's lastinteraction): a client that
		// neither sends nor takes its replies is closed, unsent output or
		// not; one that reads its replies slowly is not.
		s.clientf("closing client id=%d: no progress for %v (-timeout), %d bytes of replies unsent",
			c.id, conn.Idle().Round(time.Millisecond), conn.Unsent())
	case errors.Is(err, aeconn.ErrEvicted):
		s.clientf("evicting client id=%d (maxmemory-clients): %v; %d bytes of replies unsent", c.id, err, conn.Unsent())
	case errors.Is(err, aeconn.ErrInputLimit):
		s.clientf("closing client id=%d: query buffer over the limit of %d", c.id, s.cfg.maxQuery)
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, aeconn.ErrClosed):
	default:
		var errno syscall.Errno // a reset, a broken pipe: the client's business
		if !errors.As(err, &errno) {
			s.clientf("client id=%d: %v", c.id, err)
		}
	}
}

// onError logs what went wrong outside a client: out of fds at most once
// per fdLogEvery.
func (s *server) onError(err error) {
	switch {
	case errors.Is(err, aeconn.ErrOutOfFds), errors.Is(err, aeconn.ErrAcceptPaused):
		now := time.Now().UnixNano()
		if last := s.lastFdLog.Load(); now-last < int64(fdLogEvery) || !s.lastFdLog.CompareAndSwap(last, now) {
			return
		}
		s.logf("accept: %v; refusing new clients with an error until fds free up (-maxclients %d does not fit the fd limit)",
			err, s.cfg.maxClients)
	case errors.Is(err, aeconn.ErrMaxClientsLowered):
		s.lowered = true // from aeconn.New, on newServer's goroutine: logged there
	default:
		s.clientf("%v", err)
	}
}

// runCommands runs the complete commands at the start of buf and returns
// how many bytes they took. It stops early when the client's unsent output
// is over the pause limit (the layer then stops reading it, and gives the
// rest back once the output drains), or after a protocol error or QUIT.
func (c *client) runCommands(buf []byte, now int64) int {
	pos := 0
	pause := c.lp.srv.cfg.pauseOutput - c.conn.Unsent()
	// The commands of one read run under one hold of the keyspace lock:
	// one lock per command cost 4% of a pipelined GET.
	d := c.lp.srv.db
	d.mu.Lock()
	defer d.mu.Unlock()
	for pos < len(buf) && !c.closeAfterReply && len(c.lp.out) <= pause {
		argv, n, err := c.parser.Next(buf[pos:])
		if err != nil {
			c.lp.out = resp.AppendError(c.lp.out, err.Error())
			c.closeAfterReply = true
			// The error text may hold a byte of the client's: quoted.
			c.lp.srv.clientf("protocol error from client id=%d: %s", c.id, quoteClient(err.Error()))
			return len(buf)
		}
		if n == 0 {
			break // incomplete
		}
		pos += n
		if len(argv) > 0 {
			c.call(argv, now)
		}
	}
	return pos
}

// publish makes the loop's counters visible to INFO on any loop.
func (lp *evloop) publish() {
	lp.publishCommands()
	lp.cl.Publish()
}

// publishCommands makes the loop's command count visible to INFO on any
// loop; the layer publishes the byte counts itself after each iteration.
func (lp *evloop) publishCommands() { lp.commands.Store(lp.ncmds) }

// totals sums the per-loop counters.
func (s *server) totals() (commands, netIn, netOut uint64) {
	for _, lp := range s.loops {
		commands += lp.commands.Load()
	}
	st := s.conns.Stats()
	return commands, st.BytesIn, st.BytesOut
}

// cron is serverCron's part that is Redis's (loop 0): the log's budget,
// active expiry and the ops/sec figure. Client housekeeping (-timeout,
// maxmemory-clients, giving memory back to the OS) is the layer's cron.
func (s *server) cron() {
	now := time.Now()
	s.log.tick(now)
	budget := time.Second / time.Duration(max(s.cfg.hz, 1)) / 4
	s.db.activeExpire(budget)
	total, _, _ := s.totals()
	if el := now.Sub(s.lastCron); el > 0 {
		s.opsPerSec.Store(int64(float64(total-s.cmdsAtLastCron) / el.Seconds()))
	}
	s.cmdsAtLastCron, s.lastCron = total, now
}

// String describes the client for logs.
func (c *client) String() string { return fmt.Sprintf("id=%d fd=%d", c.id, c.conn.Fd()) }
