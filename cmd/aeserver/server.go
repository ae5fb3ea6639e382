package main

import (
	"cmp"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/anet"
	"github.com/aemux/mux/event"
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
	acceptBatch  int           // connections accepted per listener event at most; 0: maxAcceptsPerCall
	loops        int           // event loops, each on its own OS thread
	maxClients   int           // connected clients at most
	maxBulk      int64         // proto-max-bulk-len
	maxQuery     int           // client-query-buffer-limit
	pauseOutput  int           // a client's unsent output above which its input is not read
	maxClientMem int64         // maxmemory-clients: all clients' buffers together, bytes; 0: no limit
	hz           int           // serverCron frequency
	idle         time.Duration // close clients without read or write progress this long; 0: never
	logger       *log.Logger
}

// Defaults, as in redis.conf where Redis has the setting.
const (
	defaultMaxClients   = 10000
	defaultMaxQuery     = 1 << 30
	defaultPauseOutput  = 1 << 20
	defaultHz           = 10
	readChunk           = 16 << 10         // PROTO_IOBUF_LEN: one read, into the loop's buffer
	minReadRoom         = 1 << 10          // a client's own buffer grows when less room is left
	maxAcceptsPerCall   = 1000             // MAX_ACCEPTS_PER_CALL
	shrinkQueryAbove    = 32 << 10         // idle query buffers larger than this are freed by the cron
	defaultMaxClientMem = 1 << 30          // maxmemory-clients: room for one proto-max-bulk-len argument
	fdLogEvery          = 10 * time.Second // out of fds: one log line per loop this often at most
	acceptRetry         = 100 * time.Millisecond
	setsizeReserve      = 128 // CONFIG_FDSET_INCR: fds besides clients (listeners, pollers, stdio)
)

// server is the process-wide state: the keyspace, the loops and the
// counters that INFO reports.
type server struct {
	cfg   config
	db    *db
	loops []*evloop
	start time.Time
	port  int // the TCP port listened on (for INFO), 0 without TCP

	clients      atomic.Int64 // connected clients, all loops
	nextClientID atomic.Uint64
	connections  atomic.Uint64 // total_connections_received
	rejected     atomic.Uint64 // rejected_connections
	opsPerSec    atomic.Int64

	evicted atomic.Uint64 // evicted_clients: closed for maxmemory-clients

	log *logger  // asynchronous, rate-limited (see log.go)
	mem memCheck // gives freed memory back to the OS (loop 0's cron)

	stopOnce sync.Once
}

// evloop is one event loop with its own listeners and clients; it is only
// touched by its own goroutine, locked to its OS thread.
type evloop struct {
	srv     *server
	id      int
	l       *aeloop.Loop
	tcp     int             // the TCP listener (SO_REUSEPORT when there are several loops), or -1
	unix    int             // the Unix listener (loop 0 only), or -1
	pending []*client       // clients with output to write before the next poll
	rbuf    [readChunk]byte // where a client without a partial request reads
	now     time.Time       // when the last poll returned (the command time)
	clients map[*client]struct{}

	acceptPaused bool // EMFILE/ENFILE and no spare fd: listeners deregistered until fds free up
	spare        int  // an fd kept open to be closed when accept fails with EMFILE (see shed), or -1
	lastFdLog    time.Time

	// clientMem is the memory of this loop's clients' buffers, as the
	// cron last summed it; maxmemory-clients compares the sum over the
	// loops with its limit.
	clientMem atomic.Int64

	// Edge-triggered readiness (the default where the backend has it) is
	// reported once per arrival, not for as long as input waits, so what
	// a handler leaves unread must be taken up without a new event: the
	// clients whose last read filled its buffer, and the listeners that
	// had connections left after maxAcceptsPerCall. beforeSleep serves
	// them once per iteration, as level-triggered events would be, and
	// keeps the next poll from blocking while any are left.
	edge        bool
	readAgain   []*client
	readSpare   []*client // readAgain's other half (serveLeftovers)
	acceptAgain []int
	retryTimer  int64

	// Counters that every command, read or write updates, kept per loop
	// (so that loops do not share a cache line) in plain fields, and
	// published once per iteration for INFO, which sums the loops.
	ncmds, nin, nout uint64
	commands         atomic.Uint64 // total_commands_processed
	netIn            atomic.Uint64 // total_net_input_bytes
	netOut           atomic.Uint64 // total_net_output_bytes

	cmdsAtLastCron uint64 // loop 0: for instantaneous_ops_per_sec
	lastCron       time.Time
}

// totals sums the per-loop counters.
func (s *server) totals() (commands, netIn, netOut uint64) {
	for _, lp := range s.loops {
		commands += lp.commands.Load()
		netIn += lp.netIn.Load()
		netOut += lp.netOut.Load()
	}
	return
}

// client is one connection.
type client struct {
	lp     *evloop
	fd     int
	id     uint64
	qbuf   []byte // input; qbuf[:qlen] is unparsed
	qlen   int
	parser resp.Parser
	obuf   []byte // output; obuf[sent:] is unsent
	sent   int

	name    string
	created time.Time

	// The command this client ran last, by the name it used (call).
	lastName   [16]byte
	lastLen    uint8
	lastCmd    *command
	lastActive time.Time

	queued          bool // in lp.pending
	writing         bool // the write handler is installed
	readPaused      bool // Readable deregistered: too much unsent output
	closeAfterReply bool // QUIT or a protocol error: close once obuf is sent
	filled          bool // the last read filled the buffer it was given
	hup             bool // the backend reported a hang-up: read until the end of stream (Edge)
	readAgain       bool // in lp.readAgain
	closed          bool
}

var errNoListener = errors.New("aeserver: nothing to listen on (give -addr or -unix)")

// newServer opens the loops and the listeners.
func newServer(cfg config) (*server, error) {
	if cfg.addr == "" && cfg.unixPath == "" {
		return nil, errNoListener
	}
	s := &server{cfg: cfg, db: newDB(), start: time.Now(), log: newLogger(cfg.logger)}
	for i := 0; i < cfg.loops; i++ {
		lp, err := s.newLoop(i)
		if err != nil {
			s.close()
			return nil, err
		}
		s.loops = append(s.loops, lp)
	}
	return s, nil
}

func (s *server) newLoop(id int) (*evloop, error) {
	var opts []mux.Option
	if s.cfg.backend != "" {
		opts = append(opts, mux.WithBackend(s.cfg.backend))
	}
	setsize := s.cfg.maxClients + setsizeReserve
	var l *aeloop.Loop
	var err error
	edge := !s.cfg.level
	if edge {
		l, err = aeloop.CreateLoop(setsize, append(opts, mux.WithMode(mux.Edge))...)
		if errors.Is(err, errors.ErrUnsupported) {
			edge = false // poll: level-triggered it is
		}
	}
	if !edge {
		l, err = aeloop.CreateLoop(setsize, opts...)
	}
	if err != nil {
		return nil, err
	}
	lp := &evloop{srv: s, id: id, l: l, edge: edge, tcp: -1, unix: -1, retryTimer: -1, now: time.Now(),
		clients: make(map[*client]struct{}), lastCron: time.Now(), spare: openSpare()}
	if s.cfg.addr != "" {
		addr := s.cfg.addr
		if s.port != 0 {
			// Port 0 asked for any port: the other loops share the one
			// loop 0 got.
			host, _, _ := net.SplitHostPort(addr)
			addr = net.JoinHostPort(host, strconv.Itoa(s.port))
		}
		lp.tcp, err = anet.TCPServer(addr, anet.ListenOptions{Backlog: s.cfg.backlog, ReusePort: s.cfg.loops > 1})
		if err != nil {
			lp.close()
			return nil, err
		}
		if s.port == 0 {
			s.port, _ = anet.Port(lp.tcp)
		}
		if err := lp.listen(lp.tcp); err != nil {
			lp.close()
			return nil, err
		}
	}
	if s.cfg.unixPath != "" && id == 0 {
		lp.unix, err = anet.UnixServer(s.cfg.unixPath, s.cfg.unixPerm, anet.ListenOptions{Backlog: s.cfg.backlog})
		if err != nil {
			lp.close()
			return nil, err
		}
		if err := lp.listen(lp.unix); err != nil {
			lp.close()
			return nil, err
		}
	}
	l.SetBeforeSleep(func(*aeloop.Loop) { lp.beforeSleep() })
	// The time, read once per iteration for every command it runs, as
	// Redis's updateCachedTime does: a clock read per request is 1% of it.
	l.SetAfterSleep(func(*aeloop.Loop) { lp.now = time.Now() })
	period := time.Second / time.Duration(max(s.cfg.hz, 1))
	if _, err := l.AddTimer(period, func(*aeloop.Loop, int64, any) time.Duration {
		lp.cron()
		return period
	}, nil, nil); err != nil {
		lp.close()
		return nil, err
	}
	return lp, nil
}

func (lp *evloop) listen(fd int) error {
	if err := lp.fit(fd); err != nil {
		return err
	}
	return lp.l.AddEvent(fd, event.Readable, acceptHandler, lp)
}

// run drives the loop on the calling goroutine, locked to its OS thread,
// until Stop.
func (lp *evloop) run() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lowerTimerSlack()
	return lp.l.Main()
}

// serve runs every loop and returns when all have stopped: the first
// error, or nil after stop.
func (s *server) serve() error {
	errs := make(chan error, len(s.loops))
	for _, lp := range s.loops {
		go func() {
			err := lp.run()
			if err != nil {
				s.stop()
			}
			errs <- err
		}()
	}
	var first error
	for range s.loops {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// stop makes every loop return from serve; safe from any goroutine, also
// before the loops reach Main (a SIGTERM right after the listeners open):
// RequestStop, unlike ae's Stop, is never lost.
func (s *server) stop() {
	s.stopOnce.Do(func() {
		for _, lp := range s.loops {
			lp.l.RequestStop()
		}
	})
}

// close releases everything; call it after serve returned.
func (s *server) close() error {
	var first error
	for _, lp := range s.loops {
		if err := lp.close(); err != nil && first == nil {
			first = err
		}
	}
	if s.cfg.unixPath != "" {
		os.Remove(s.cfg.unixPath)
	}
	s.mem.wait()
	s.log.close()
	return first
}

func (lp *evloop) close() error {
	for c := range lp.clients {
		c.free()
	}
	for _, fd := range []int{lp.tcp, lp.unix} {
		if fd >= 0 {
			lp.l.DelEvent(fd, event.Readable|event.Writable)
			anet.Close(fd)
		}
	}
	lp.tcp, lp.unix = -1, -1
	closeSpare(lp.spare)
	lp.spare = -1
	err := lp.l.Close()
	if errors.Is(err, mux.ErrClosed) {
		err = nil
	}
	return err
}

// logf logs a line of the server's own (start, stop, internal errors);
// it never blocks. Lines a client can cause go through clientf.
func (s *server) logf(format string, args ...any) { s.log.printf(format, args...) }

// clientf logs a line a client caused, within the log's per-second budget
// (see log.go). Bytes from the client must be passed through quoteClient.
func (s *server) clientf(format string, args ...any) { s.log.clientf(time.Now(), format, args...) }

// acceptHandler accepts up to maxAcceptsPerCall connections
// (acceptTcpHandler).
func acceptHandler(l *aeloop.Loop, fd int, data any, _ event.Mask) {
	lp := data.(*evloop)
	limit := lp.srv.cfg.acceptBatch
	if limit <= 0 {
		limit = maxAcceptsPerCall
	}
	for i := 0; ; i++ {
		if i == limit {
			if lp.edge && !slices.Contains(lp.acceptAgain, fd) {
				lp.acceptAgain = append(lp.acceptAgain, fd) // more may wait: see evloop.edge
			}
			return
		}
		cfd, err := anet.Accept(fd)
		if err != nil {
			switch {
			case errors.Is(err, anet.ErrWouldBlock):
			case outOfFds(err):
				lp.shed(fd, err, limit-i)
			default:
				lp.srv.clientf("accept: %v", err)
			}
			return
		}
		lp.newClient(cfd, fd == lp.tcp)
	}
}

// shed answers the connections waiting on listener fd while the process is
// out of fds, so that they get an error at once instead of hanging in the
// backlog until they time out: it closes the spare fd kept for this,
// accepts into its slot, writes Redis's max-clients error, closes the
// connection and opens the spare again, up to limit times. Without a
// spare (none could be opened, or Windows), or when another thread took
// the slot, it pauses accepting instead (see pauseAccept). One log line
// per fdLogEvery at most.
func (lp *evloop) shed(fd int, cause error, limit int) {
	s := lp.srv
	n := 0
	for lp.spare >= 0 && n < limit {
		closeSpare(lp.spare)
		cfd, err := anet.Accept(fd)
		if err == nil {
			anet.Write(cfd, maxClientsReply) // best effort, as for maxclients
			anet.Close(cfd)
			n++
		}
		lp.spare = openSpare()
		if err != nil {
			break
		}
	}
	s.connections.Add(uint64(n))
	s.rejected.Add(uint64(n))
	if now := time.Now(); now.Sub(lp.lastFdLog) >= fdLogEvery {
		lp.lastFdLog = now
		s.logf("accept: %v; refusing new clients with an error until fds free up (-maxclients %d does not fit the fd limit)",
			cause, s.cfg.maxClients)
	}
	switch {
	case lp.spare < 0:
		lp.pauseAccept(cause)
	case n == limit && lp.edge && !slices.Contains(lp.acceptAgain, fd):
		lp.acceptAgain = append(lp.acceptAgain, fd) // more may wait: see evloop.edge
	}
}

// pauseAccept deregisters the listeners when the process is out of fds, so
// that the loop does not spin on a listener it cannot accept from; they come
// back when a client of this loop disconnects, or at the latest after
// acceptRetry.
func (lp *evloop) pauseAccept(err error) {
	if lp.acceptPaused {
		return
	}
	lp.srv.clientf("accept: %v; pausing accepts until fds free up", err)
	lp.acceptPaused = true
	for _, fd := range []int{lp.tcp, lp.unix} {
		if fd >= 0 {
			lp.l.DelEvent(fd, event.Readable)
		}
	}
	lp.retryTimer, _ = lp.l.AddTimer(acceptRetry, func(*aeloop.Loop, int64, any) time.Duration {
		lp.retryTimer = -1
		lp.resumeAccept()
		return aeloop.NoMore
	}, nil, nil)
}

func (lp *evloop) resumeAccept() {
	if !lp.acceptPaused {
		return
	}
	lp.acceptPaused = false
	if lp.retryTimer >= 0 {
		lp.l.DelTimer(lp.retryTimer)
		lp.retryTimer = -1
	}
	for _, fd := range []int{lp.tcp, lp.unix} {
		if fd >= 0 {
			if err := lp.listen(fd); err != nil {
				lp.srv.logf("listen again: %v", err)
			}
		}
	}
}

var maxClientsReply = []byte("-ERR max number of clients reached\r\n")

// newClient registers an accepted connection (acceptCommonHandler).
func (lp *evloop) newClient(fd int, tcp bool) {
	s := lp.srv
	s.connections.Add(1)
	if s.clients.Add(1) > int64(s.cfg.maxClients) {
		s.clients.Add(-1)
		s.rejected.Add(1)
		// Best effort, as Redis: the socket is new, so its buffer has room.
		anet.Write(fd, maxClientsReply)
		anet.Close(fd)
		return
	}
	if tcp {
		anet.TCPNoDelay(fd, true)
	}
	now := time.Now()
	c := &client{lp: lp, fd: fd, id: s.nextClientID.Add(1), created: now, lastActive: now}
	c.parser.MaxBulk = s.cfg.maxBulk
	if err := lp.register(c); err != nil {
		s.clientf("register client fd %d: %v", fd, err)
		s.clients.Add(-1)
		anet.Close(fd)
		return
	}
	lp.clients[c] = struct{}{}
}

// register adds the client's read handler, growing the loop's set size if
// the fd number is beyond it (fd numbers are shared by all loops).
func (lp *evloop) register(c *client) error {
	if err := lp.fit(c.fd); err != nil {
		return err
	}
	return lp.l.AddEvent(c.fd, event.Readable, readHandler, c)
}

// fit grows the loop's set size, doubling it at least, when fd is beyond
// it: the fd table is indexed by fd. On Windows even a listener's socket
// handle can be beyond a small set size (handles are multiples of 4).
func (lp *evloop) fit(fd int) error {
	if fd < lp.l.SetSize() {
		return nil
	}
	return lp.l.ResizeSetSize(max(2*lp.l.SetSize(), fd+1))
}

func readHandler(_ *aeloop.Loop, _ int, data any, mask event.Mask) {
	c := data.(*client)
	if mask&event.Hangup != 0 {
		// The peer's FIN (or a reset) is queued behind whatever data came
		// with it. Edge-triggered, no event will report it again: it must
		// be read, however short the read before it was.
		c.hup = true
	}
	c.readQuery()
	c.moreToRead()
}

// moreToRead queues the client for another read in beforeSleep when the
// loop is edge-triggered and the socket may hold more than was read, which
// no event will report again: the last read filled its buffer, or the
// backend reported a hang-up, so an end of stream (a read of 0) is still
// to be seen, after the data that came with it. Without the second rule a
// client that sends a request and shuts down its side in one go (the FIN
// arrives with the data, and a short read takes the data only) would stay
// connected in CLOSE_WAIT for good. A short read without a hang-up is taken
// as "nothing left": what arrives later, data or FIN, is a new edge.
//
// The Edge contract this follows: read until EAGAIN, or until a short read
// when no hang-up was reported. Every Edge backend here (epoll, kqueue)
// reports the hang-up (mux.Caps.HalfClose).
func (c *client) moreToRead() {
	if c.lp.edge && (c.filled || c.hup) && !c.readAgain && !c.closed && !c.readPaused && !c.closeAfterReply {
		c.readAgain = true
		c.lp.readAgain = append(c.lp.readAgain, c)
	}
}

func writeHandler(_ *aeloop.Loop, _ int, data any, _ event.Mask) {
	c := data.(*client)
	c.write()
	if !c.closed && c.sent == len(c.obuf) && c.writing {
		c.writing = false
		c.lp.l.DelEvent(c.fd, event.Writable)
	}
}

// readQuery reads what the socket has and runs every complete command in
// it (readQueryFromClient, processInputBuffer).
func (c *client) readQuery() {
	if c.closeAfterReply {
		return // a protocol error or QUIT: the rest of the input is ignored
	}
	lp := c.lp
	now := lp.now.UnixMilli()
	if c.qlen == 0 {
		// Nothing pending: read into the loop's buffer, run what came, and
		// keep only an incomplete rest, so an idle client holds no buffer
		// (Redis 7.4's reusable query buffer, in spirit).
		n, ok := c.readInto(lp.rbuf[:])
		if !ok {
			return
		}
		used := c.runCommands(lp.rbuf[:n], now)
		if rest := lp.rbuf[used:n]; len(rest) > 0 && !c.closed {
			if cap(c.qbuf) < len(rest) {
				c.qbuf = make([]byte, max(len(rest), minReadRoom))
			}
			c.qbuf = c.qbuf[:cap(c.qbuf)]
			c.qlen = copy(c.qbuf, rest)
		}
		c.afterInput()
		c.checkQueryLimit()
		return
	}
	// A request is partly here: read after it, with room for a chunk, or
	// for the rest of a large bulk argument so that it arrives in few
	// reads. The room follows what arrived, never the length the client
	// declared: at most as much again as is buffered, or a chunk, so the
	// buffer at most doubles per step and stays under four times the
	// bytes received, or four chunks. A 17-byte "*1\r\n$536870912\r\n..." gets a
	// buffer of a few KiB, not 1 GiB; an argument that really comes costs
	// O(log n) copies of itself, as Redis pays for one that is not big.
	need := c.parser.Need(c.qbuf[:c.qlen])
	want := max(minReadRoom, min(need, max(c.qlen, readChunk)))
	if len(c.qbuf)-c.qlen < want {
		c.growQuery(want, need)
	}
	n, ok := c.readInto(c.qbuf[c.qlen:])
	if !ok {
		return
	}
	c.qlen += n
	c.processInput(now)
	c.checkQueryLimit()
}

// checkQueryLimit closes a client whose unparsed input, together with the
// argument list parsed from it so far, passed -client-query-buffer-limit,
// as Redis does (without a reply; Redis counts its argv too). The list
// costs 16 bytes per argument even when the argument is empty, more than
// the 6 bytes of "$0\r\n\r\n" that announced it, so counting the input
// alone would let a client hold several times the limit.
func (c *client) checkQueryLimit() {
	if c.closed {
		return
	}
	if lim, used := c.lp.srv.cfg.maxQuery, c.qlen+c.parser.Footprint(); used > lim {
		c.lp.srv.clientf("closing client id=%d: query buffer and arguments %d bytes, over the limit of %d", c.id, used, lim)
		c.free()
	}
}

// readInto reads from the socket into buf. It reports false, having freed
// the client if the connection is over, when there is nothing to run.
//
// c.filled tells moreToRead whether the socket may hold more. A read that
// filled buf may have left input behind; a shorter one took all there
// was, except the end of stream itself when a FIN came with the data,
// which is why a reported hang-up (c.hup) also counts as more to read.
func (c *client) readInto(buf []byte) (int, bool) {
	n, err := anet.Read(c.fd, buf)
	c.filled = err == nil && n == len(buf)
	if err != nil {
		if err != anet.ErrWouldBlock {
			c.free()
		}
		// EAGAIN: nothing is left to read, not even an end of stream (the
		// hang-up was of another kind): stop reading again for it, or the
		// loop would spin on this client.
		c.hup = false
		return 0, false
	}
	if n == 0 {
		// The peer closed its side. Replies to what it sent before are
		// written if the socket takes them (as Redis's beforeSleep would
		// have written them before it saw the end of stream), then the
		// client is freed either way.
		c.closeAfterReply = true
		c.write()
		c.free()
		return 0, false
	}
	c.lastActive = c.lp.now // progress: -timeout counts from here
	c.lp.nin += uint64(n)
	return n, true
}

// growQuery makes room for want more bytes of input; callers bound want
// by what arrived (see readQuery). The buffer doubles, but not past the
// end of the request when need, what the request still needs, is known
// and want covers no more than it: the last step of a large argument
// makes room for exactly the rest, so a 512 MiB argument costs 512 MiB,
// not 1 GiB (maxmemory-clients counts it).
func (c *client) growQuery(want, need int) {
	size := max(len(c.qbuf), minReadRoom)
	for size-c.qlen < want {
		size *= 2
	}
	if need >= want {
		size = min(size, c.qlen+need)
	}
	nb := make([]byte, size)
	copy(nb, c.qbuf[:c.qlen])
	c.qbuf = nb
}

// processInput runs the complete commands at the start of qbuf and keeps
// the rest.
func (c *client) processInput(now int64) {
	if used := c.runCommands(c.qbuf[:c.qlen], now); used > 0 {
		c.qlen = copy(c.qbuf, c.qbuf[used:c.qlen])
	}
	c.afterInput()
}

// runCommands runs the complete commands at the start of buf and returns
// how many bytes they took. It stops early when the client's unsent output
// is over the pause limit, or after a protocol error or QUIT.
func (c *client) runCommands(buf []byte, now int64) int {
	pos := 0
	pause := c.lp.srv.cfg.pauseOutput
	// The commands of one read run under one hold of the keyspace lock:
	// one lock per command cost 4% of a pipelined GET.
	d := c.lp.srv.db
	d.mu.Lock()
	defer d.mu.Unlock()
	for pos < len(buf) && !c.closeAfterReply && len(c.obuf)-c.sent <= pause {
		argv, n, err := c.parser.Next(buf[pos:])
		if err != nil {
			c.obuf = resp.AppendError(c.obuf, err.Error())
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

// afterInput queues the client's replies for beforeSleep, and stops
// reading from a client with too much unsent output.
func (c *client) afterInput() {
	pause := c.lp.srv.cfg.pauseOutput
	if len(c.obuf) > c.sent && !c.queued && !c.closed {
		c.queued = true
		c.lp.pending = append(c.lp.pending, c)
	}
	if !c.readPaused && !c.closed && len(c.obuf)-c.sent > pause {
		// The client sends faster than it reads: neither run its
		// commands nor read its input until its replies are out, so that
		// output cannot grow without bound. write resumes both.
		c.readPaused = true
		c.lp.l.DelEvent(c.fd, event.Readable)
	}
}

// beforeSleep writes the replies produced in this iteration straight to
// the sockets, and installs a write handler only for what the kernel could
// not take (handleClientsWithPendingWrites).
func (lp *evloop) beforeSleep() {
	if lp.edge {
		lp.serveLeftovers()
	}
	// By index: a client whose reading resumes in write may queue itself
	// again, and is written in this same pass.
	for i := 0; i < len(lp.pending); i++ {
		c := lp.pending[i]
		lp.pending[i] = nil
		c.queued = false
		if c.closed {
			continue
		}
		c.write()
		if c.closed || c.sent == len(c.obuf) || c.writing {
			continue
		}
		if err := lp.l.AddEvent(c.fd, event.Writable, writeHandler, c); err != nil {
			lp.srv.logf("client id=%d: install write handler: %v", c.id, err)
			c.free()
			continue
		}
		c.writing = true
	}
	lp.pending = lp.pending[:0]
	lp.publish()
}

// serveLeftovers gives the clients and listeners that an edge-triggered
// event left with unread input their next turn (see evloop.edge), and
// keeps the coming poll from blocking while some remain.
func (lp *evloop) serveLeftovers() {
	if fds := lp.acceptAgain; len(fds) > 0 {
		lp.acceptAgain = nil
		for _, fd := range fds {
			if !lp.acceptPaused && (fd == lp.tcp || fd == lp.unix) {
				acceptHandler(lp.l, fd, lp, event.Readable)
			}
		}
	}
	// Those that fill their buffer again queue themselves anew, for the
	// next iteration.
	again := lp.readAgain
	lp.readAgain = lp.readSpare[:0]
	for _, c := range again {
		c.readAgain = false
		if !c.closed && !c.readPaused && !c.closeAfterReply {
			c.readQuery()
			c.moreToRead()
		}
	}
	clear(again)
	lp.readSpare = again[:0] // the two lists take turns, so that this allocates nothing
	lp.l.SetDontWait(len(lp.readAgain) > 0 || len(lp.acceptAgain) > 0)
}

// publish makes the loop's counters visible to INFO on any loop.
func (lp *evloop) publish() {
	lp.commands.Store(lp.ncmds)
	lp.netIn.Store(lp.nin)
	lp.netOut.Store(lp.nout)
}

// write sends as much of the output as the socket takes.
func (c *client) write() {
	for c.sent < len(c.obuf) {
		n, err := anet.Write(c.fd, c.obuf[c.sent:])
		if err != nil {
			if err != anet.ErrWouldBlock {
				c.free()
			}
			return
		}
		c.sent += n
		c.lp.nout += uint64(n)
		if n > 0 {
			c.lastActive = c.lp.now // progress: -timeout counts from here
		}
	}
	c.obuf, c.sent = c.obuf[:0], 0
	if cap(c.obuf) > 1<<20 {
		c.obuf = nil // do not keep a large buffer for an idle client
	}
	if c.closeAfterReply {
		c.free()
		return
	}
	if c.readPaused {
		c.readPaused = false
		if err := c.lp.l.AddEvent(c.fd, event.Readable, readHandler, c); err != nil {
			c.free()
			return
		}
		// Input may be waiting in qbuf already.
		if c.qlen > 0 {
			c.processInput(c.lp.now.UnixMilli())
		}
		// A hang-up reported while reading was paused is still to be read
		// (Edge: see moreToRead).
		c.moreToRead()
	}
}

// free closes the connection and forgets the client (freeClient).
func (c *client) free() {
	if c.closed {
		return
	}
	c.closed = true
	lp := c.lp
	lp.l.DelEvent(c.fd, event.Readable|event.Writable)
	anet.Close(c.fd)
	delete(lp.clients, c)
	lp.srv.clients.Add(-1)
	c.qbuf, c.obuf = nil, nil
	lp.resumeAccept()
}

// cron is serverCron: client housekeeping (-timeout, buffers, and
// maxmemory-clients), active expiry, the ops/sec figure and giving freed
// memory back to the OS (loop 0).
func (lp *evloop) cron() {
	s := lp.srv
	now := time.Now()
	var mem int64
	for c := range lp.clients {
		// -timeout counts from the client's last progress, a read or a
		// write that moved bytes (Redis's lastinteraction): a client that
		// neither sends nor takes its replies is closed, unsent output or
		// not; one that reads its replies slowly is not.
		if s.cfg.idle > 0 && now.Sub(c.lastActive) > s.cfg.idle {
			s.clientf("closing client id=%d: no progress for %v (-timeout), %d bytes of replies unsent",
				c.id, now.Sub(c.lastActive).Round(time.Millisecond), len(c.obuf)-c.sent)
			c.free()
			continue
		}
		// Give back a large query buffer, and a large argument list, once
		// the client is idle (clientsCronResizeQueryBuffer).
		if c.qlen == 0 && len(c.qbuf) > shrinkQueryAbove && now.Sub(c.lastActive) > 2*time.Second {
			c.qbuf = nil
		}
		if c.qlen == 0 {
			c.parser.Shrink(shrinkQueryAbove)
		}
		mem += c.memory()
	}
	lp.clientMem.Store(mem)
	if lim := s.cfg.maxClientMem; lim > 0 {
		lp.evictClients(lim)
	}
	if lp.id == 0 {
		s.log.tick(now)
		var clients int64
		for _, o := range s.loops {
			clients += o.clientMem.Load()
		}
		s.mem.check(now, clients)
		budget := time.Second / time.Duration(max(s.cfg.hz, 1)) / 4
		s.db.activeExpire(budget)
		total, _, _ := s.totals()
		if el := now.Sub(lp.lastCron); el > 0 {
			s.opsPerSec.Store(int64(float64(total-lp.cmdsAtLastCron) / el.Seconds()))
		}
		lp.cmdsAtLastCron, lp.lastCron = total, now
	}
}

// memory is what the client's buffers hold, for maxmemory-clients: input,
// argument list and output, by capacity.
func (c *client) memory() int64 {
	return int64(cap(c.qbuf) + c.parser.Footprint() + cap(c.obuf))
}

// evictClients closes this loop's clients with the largest buffers while
// all loops' clients together hold more than limit bytes (maxmemory-clients,
// as Redis 7's client eviction). -pause-output bounds each client's unsent
// output; this bounds their sum, which a thousand clients that pipeline
// large GETs and never read would otherwise push to gigabytes. It runs hz
// times a second, so the sum can pass the limit between two runs by what
// the clients receive in that time.
func (lp *evloop) evictClients(limit int64) {
	s := lp.srv
	total := int64(0)
	for _, o := range s.loops {
		total += o.clientMem.Load()
	}
	if total <= limit {
		return
	}
	type sized struct {
		c   *client
		mem int64
	}
	var big []sized
	for c := range lp.clients {
		big = append(big, sized{c, c.memory()})
	}
	slices.SortFunc(big, func(a, b sized) int { return cmp.Compare(b.mem, a.mem) })
	own := lp.clientMem.Load()
	for _, e := range big {
		if total <= limit || e.mem == 0 {
			break
		}
		s.clientf("evicting client id=%d: %d bytes of buffers, clients hold %d, over maxmemory-clients %d", e.c.id, e.mem, total, limit)
		e.c.free()
		s.evicted.Add(1)
		total -= e.mem
		own -= e.mem
	}
	lp.clientMem.Store(own)
}

// String describes the client for logs.
func (c *client) String() string { return fmt.Sprintf("id=%d fd=%d", c.id, c.fd) }
