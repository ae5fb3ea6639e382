package main

import (
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
	addr        string        // TCP address; "" for none
	backlog     int           // listen(2) backlog (tcp-backlog)
	unixPath    string        // Unix socket path; "" for none
	unixPerm    os.FileMode   // its permissions
	backend     string        // "" for the platform default
	level       bool          // level-triggered readiness even where edge-triggered is available
	acceptBatch int           // connections accepted per listener event at most; 0: maxAcceptsPerCall
	loops       int           // event loops, each on its own OS thread
	maxClients  int           // connected clients at most
	maxBulk     int64         // proto-max-bulk-len
	maxQuery    int           // client-query-buffer-limit
	pauseOutput int           // a client's unsent output above which its input is not read
	hz          int           // serverCron frequency
	idle        time.Duration // close clients idle this long; 0: never
	logger      *log.Logger
}

// Defaults, as in redis.conf where Redis has the setting.
const (
	defaultMaxClients  = 10000
	defaultMaxQuery    = 1 << 30
	defaultPauseOutput = 1 << 20
	defaultHz          = 10
	readChunk          = 16 << 10 // PROTO_IOBUF_LEN: one read, into the loop's buffer
	minReadRoom        = 1 << 10  // a client's own buffer grows when less room is left
	maxAcceptsPerCall  = 1000     // MAX_ACCEPTS_PER_CALL
	shrinkQueryAbove   = 32 << 10 // idle query buffers larger than this are freed by the cron
	acceptRetry        = 100 * time.Millisecond
	setsizeReserve     = 128 // CONFIG_FDSET_INCR: fds besides clients (listeners, pollers, stdio)
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

	acceptPaused bool // EMFILE/ENFILE: listeners deregistered until fds free up

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
	readAgain       bool // in lp.readAgain
	closed          bool
}

var errNoListener = errors.New("aeserver: nothing to listen on (give -addr or -unix)")

// newServer opens the loops and the listeners.
func newServer(cfg config) (*server, error) {
	if cfg.addr == "" && cfg.unixPath == "" {
		return nil, errNoListener
	}
	s := &server{cfg: cfg, db: newDB(), start: time.Now()}
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
		clients: make(map[*client]struct{}), lastCron: time.Now()}
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
	err := lp.l.Close()
	if errors.Is(err, mux.ErrClosed) {
		err = nil
	}
	return err
}

func (s *server) logf(format string, args ...any) {
	if s.cfg.logger != nil {
		s.cfg.logger.Printf(format, args...)
	}
}

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
				lp.pauseAccept(err)
			default:
				lp.srv.logf("accept: %v", err)
			}
			return
		}
		lp.newClient(cfd, fd == lp.tcp)
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
	lp.srv.logf("accept: %v; pausing accepts until fds free up", err)
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
		s.logf("register client fd %d: %v", fd, err)
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

func readHandler(_ *aeloop.Loop, _ int, data any, _ event.Mask) {
	c := data.(*client)
	c.readQuery()
	c.moreToRead()
}

// moreToRead queues the client for another read in beforeSleep when the
// loop is edge-triggered and the last read filled its buffer: the socket
// may hold more, and no event will say so.
func (c *client) moreToRead() {
	if c.lp.edge && c.filled && !c.readAgain && !c.closed && !c.readPaused && !c.closeAfterReply {
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
	c.lastActive = lp.now
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
	// for the rest of a large bulk argument so that it arrives in one read
	// if it can.
	want := max(minReadRoom, c.parser.Need(c.qbuf[:c.qlen]))
	if len(c.qbuf)-c.qlen < want {
		c.growQuery(want)
	}
	n, ok := c.readInto(c.qbuf[c.qlen:])
	if !ok {
		return
	}
	c.qlen += n
	c.processInput(now)
	c.checkQueryLimit()
}

// checkQueryLimit closes a client whose unparsed input passed
// -client-query-buffer-limit, as Redis does (without a reply).
func (c *client) checkQueryLimit() {
	if lim := c.lp.srv.cfg.maxQuery; !c.closed && c.qlen > lim {
		c.lp.srv.logf("closing client id=%d: query buffer %d bytes over the limit of %d", c.id, c.qlen, lim)
		c.free()
	}
}

// readInto reads from the socket into buf. It reports false, having freed
// the client if the connection is over, when there is nothing to run.
func (c *client) readInto(buf []byte) (int, bool) {
	n, err := anet.Read(c.fd, buf)
	c.filled = err == nil && n == len(buf)
	if err != nil {
		if err != anet.ErrWouldBlock {
			c.free()
		}
		return 0, false
	}
	if n == 0 {
		c.free() // the peer closed
		return 0, false
	}
	c.lp.nin += uint64(n)
	return n, true
}

// growQuery makes room for want more bytes of input.
func (c *client) growQuery(want int) {
	size := max(len(c.qbuf), minReadRoom)
	for size-c.qlen < want {
		size *= 2
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
			c.lp.srv.logf("protocol error from client id=%d: %v", c.id, err)
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

// cron is serverCron: client housekeeping, active expiry (loop 0) and the
// ops/sec figure.
func (lp *evloop) cron() {
	s := lp.srv
	now := time.Now()
	for c := range lp.clients {
		if s.cfg.idle > 0 && now.Sub(c.lastActive) > s.cfg.idle && !c.writing {
			c.free()
			continue
		}
		// Give back a large query buffer once the client is idle
		// (clientsCronResizeQueryBuffer).
		if c.qlen == 0 && len(c.qbuf) > shrinkQueryAbove && now.Sub(c.lastActive) > 2*time.Second {
			c.qbuf = nil
		}
	}
	if lp.id == 0 {
		budget := time.Second / time.Duration(max(s.cfg.hz, 1)) / 4
		s.db.activeExpire(budget)
		total, _, _ := s.totals()
		if el := now.Sub(lp.lastCron); el > 0 {
			s.opsPerSec.Store(int64(float64(total-lp.cmdsAtLastCron) / el.Seconds()))
		}
		lp.cmdsAtLastCron, lp.lastCron = total, now
	}
}

// String describes the client for logs.
func (c *client) String() string { return fmt.Sprintf("id=%d fd=%d", c.id, c.fd) }
