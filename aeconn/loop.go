package aeconn

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/anet"
	"github.com/aemux/mux/event"
)

// Loop is one event loop of a Server with its conns. Everything on it runs
// on its goroutine; other goroutines reach it through Post.
type Loop[T any] struct {
	s     *Server[T]
	id    int
	l     *aeloop.Loop
	edge  bool
	buf   []byte     // the read buffer every conn of the loop reads into
	hard  int        // Config.HardOutput
	conns []*Conn[T] // open conns; Conn.idx is the position
	now   int64      // the clock (ns since epoch) when the last poll returned
	epoch time.Time

	listeners    []listener
	acceptPaused bool
	retryTimer   int64
	spare        int // Config.RejectOutOfFds: the fd closed to accept into at EMFILE, or -1

	// Bytes read and written, counted in plain fields on the hot path and
	// published once per iteration (Stats).
	nin, nout         uint64
	bytesIn, bytesOut atomic.Uint64
	// What the loop's conns held (Conn.Memory) at the last cron, for
	// Config.MaxMemory and ReleaseMemory, which sum the loops.
	connMem atomic.Int64

	// Conns with output to send before the next poll (Redis's
	// clients_pending_write).
	pending []*Conn[T]
	// Edge-triggered readiness comes once per arrival, so what an event
	// leaves unread must be taken up without one: conns whose last read
	// filled the buffer, and listeners with connections left after a
	// batch. beforeSleep serves them once per iteration, as level-triggered
	// events would, and the next poll does not block while any are left.
	readAgain   []*Conn[T]
	readSpare   []*Conn[T]
	acceptAgain []int

	// Output buffers of conns that sent all they had, for the next conn
	// that writes: a steady request-reply exchange allocates nothing, and
	// an idle conn holds no buffer. The cron trims the pool to the most
	// buffers in use at once over the last poolWindow (outPeaks holds the
	// peak of each cron interval in it): trimmed to the last interval's
	// peak alone, the pool of a loop serving 1,000 conns gave back and
	// made again hundreds of output buffers a second as its batches varied,
	// which took 16 collections per 200,000 requests.
	free      [][]byte
	outInUse  int
	outPeak   int
	outPeaks  []int
	peakNext  int
	cronTimer int64
	closing   bool
}

// listener is a listening fd of a loop.
type listener struct {
	fd    int
	tcp   bool
	local bool // this loop's own (the kernel spreads accepts): no hand-off
}

func newLoop[T any](s *Server[T], id int) (*Loop[T], error) {
	var opts []mux.Option
	if s.cfg.Backend != "" {
		opts = append(opts, mux.WithBackend(s.cfg.Backend))
	}
	setsize := min(s.maxClients+reservedFds, 1024)
	edge := s.cfg.Mode == mux.Edge
	var l *aeloop.Loop
	var err error
	if edge {
		l, err = aeloop.CreateLoop(setsize, append(opts, mux.WithMode(mux.Edge))...)
		if errors.Is(err, errors.ErrUnsupported) {
			edge = false
		}
	}
	if !edge {
		l, err = aeloop.CreateLoop(setsize, opts...)
	}
	if err != nil {
		return nil, err
	}
	lp := &Loop[T]{s: s, id: id, l: l, edge: edge, buf: make([]byte, s.cfg.ReadBuffer), hard: max(s.cfg.HardOutput, 0),
		epoch: time.Now(), retryTimer: -1, cronTimer: -1, spare: -1}
	if s.cfg.RejectOutOfFds {
		lp.spare = openSpare()
	}
	l.SetBeforeSleep(func(*aeloop.Loop) { lp.beforeSleep() })
	// The clock, read once per iteration for every conn it serves.
	l.SetAfterSleep(func(*aeloop.Loop) { lp.now = int64(time.Since(lp.epoch)) })
	every := s.cfg.CronInterval
	lp.outPeaks = make([]int, min(max(int((poolWindow+every-1)/every), 1), maxPoolPeaks))
	lp.cronTimer, err = l.AddTimer(every, func(*aeloop.Loop, int64, any) time.Duration {
		lp.cron()
		return every
	}, nil, nil)
	if err != nil {
		l.Close()
		return nil, err
	}
	return lp, nil
}

// Index returns the loop's position in Server.Loops.
func (lp *Loop[T]) Index() int { return lp.id }

// AE returns the aeloop.Loop under lp, for timers and fds of the
// program's own (the loop's hooks and fd handlers of its conns belong to
// the layer).
func (lp *Loop[T]) AE() *aeloop.Loop { return lp.l }

// Edge reports whether the loop is edge-triggered (Config.Mode Edge on a
// backend that has it).
func (lp *Loop[T]) Edge() bool { return lp.edge }

// Conns returns how many conns the loop has open, dialed ones included.
// Call it on the loop's goroutine.
func (lp *Loop[T]) Conns() int { return len(lp.conns) }

// Range calls fn for each open conn of the loop, until fn returns false.
// fn may close the conn it gets, not others. Call it on the loop's
// goroutine.
func (lp *Loop[T]) Range(fn func(c *Conn[T]) bool) {
	for i := 0; i < len(lp.conns); {
		c := lp.conns[i]
		if !fn(c) {
			return
		}
		if !c.closed {
			i++ // else the last conn moved to i
		}
	}
}

// Now returns the time the loop's last poll returned: the clock of the
// iteration, read once for all the conns it serves.
func (lp *Loop[T]) Now() time.Time { return lp.epoch.Add(time.Duration(lp.now)) }

// Publish makes the loop's byte counts up to now visible to Server.Stats
// (the loop publishes them once per iteration anyway). Call it on the
// loop's goroutine.
func (lp *Loop[T]) Publish() {
	lp.bytesIn.Store(lp.nin)
	lp.bytesOut.Store(lp.nout)
}

// Post runs fn on the loop's goroutine (aeloop's Post): the way other
// goroutines write to a conn or dial. Safe from any goroutine. Once the
// loop is closed it returns an error matching ErrClosed and mux.ErrClosed,
// and fn does not run; a nil fn is aeloop.ErrNilFunc.
func (lp *Loop[T]) Post(fn func(lp *Loop[T])) error {
	if fn == nil {
		return aeloop.ErrNilFunc
	}
	err := lp.l.Post(func(*aeloop.Loop) { fn(lp) })
	if errors.Is(err, mux.ErrClosed) {
		err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// fit grows the loop's set size when fd is beyond it, doubling it at
// least: the loop's tables are indexed by fd (by handle value on Windows).
func (lp *Loop[T]) fit(fd int) error {
	if fd < lp.l.SetSize() {
		return nil
	}
	return lp.l.ResizeSetSize(max(2*lp.l.SetSize(), fd+1))
}

func (lp *Loop[T]) addListener(fd int, tcp bool) error {
	local := tcp && spreads && len(lp.s.loops) > 1
	if err := lp.watchListener(fd); err != nil {
		return err
	}
	lp.listeners = append(lp.listeners, listener{fd: fd, tcp: tcp, local: local})
	return nil
}

func (lp *Loop[T]) watchListener(fd int) error {
	if err := lp.fit(fd); err != nil {
		return err
	}
	return lp.l.AddEvent(fd, event.Readable, acceptProc[T], lp)
}

func acceptProc[T any](_ *aeloop.Loop, fd int, data any, _ event.Mask) {
	data.(*Loop[T]).accept(fd)
}

// accept takes up to AcceptBatch connections from the listener fd
// (acceptTcpHandler).
func (lp *Loop[T]) accept(fd int) {
	var ln listener
	for _, x := range lp.listeners {
		if x.fd == fd {
			ln = x
		}
	}
	s := lp.s
	for i := 0; ; i++ {
		if i == s.cfg.AcceptBatch {
			if lp.edge && !slices.Contains(lp.acceptAgain, fd) {
				lp.acceptAgain = append(lp.acceptAgain, fd)
			}
			return
		}
		cfd, err := anet.Accept(fd)
		if err != nil {
			switch {
			case err == anet.ErrWouldBlock:
			case outOfFds(err):
				lp.shed(fd, err, s.cfg.AcceptBatch-i)
			default:
				s.report(fmt.Errorf("aeconn: accept: %w", err))
			}
			return
		}
		s.accepted.Add(1)
		if s.clients.Add(1) > int64(s.maxClients) {
			s.clients.Add(-1)
			lp.reject(cfd)
			continue
		}
		if ln.local {
			lp.adopt(cfd, ln.tcp)
		} else {
			s.handOff(lp, cfd, ln.tcp)
		}
	}
}

// reject refuses an accepted fd: OnReject, then close.
func (lp *Loop[T]) reject(fd int) {
	lp.s.rejected.Add(1)
	if h := lp.s.h.OnReject; h != nil {
		h(fd)
	}
	anet.Close(fd)
}

// shed answers the connections waiting on listener fd while the process is
// out of fds (Config.RejectOutOfFds), so that they get OnReject's answer at
// once instead of hanging in the backlog until they time out: it closes
// the spare fd, accepts into its slot, rejects the conn and opens the
// spare again, up to limit times. Without a spare, or when another thread
// took the slot, it pauses accepting instead.
func (lp *Loop[T]) shed(fd int, cause error, limit int) {
	n := 0
	for lp.spare >= 0 && n < limit {
		closeSpare(lp.spare)
		cfd, err := anet.Accept(fd)
		if err == nil {
			lp.s.accepted.Add(1)
			lp.reject(cfd)
			n++
		}
		lp.spare = openSpare()
		if err != nil {
			break
		}
	}
	if n > 0 {
		lp.s.report(fmt.Errorf("%w: %w", ErrOutOfFds, cause))
	}
	switch {
	case lp.spare < 0:
		lp.pauseAccept(cause)
	case n == limit && lp.edge && !slices.Contains(lp.acceptAgain, fd):
		lp.acceptAgain = append(lp.acceptAgain, fd)
	}
}

// pauseAccept stops watching the listeners while the process is out of
// fds, so that a level-triggered loop does not spin on them; they come back
// when a conn of this loop closes, or after acceptRetry.
func (lp *Loop[T]) pauseAccept(err error) {
	if lp.acceptPaused {
		return
	}
	lp.s.report(fmt.Errorf("%w: %w", ErrAcceptPaused, err))
	lp.acceptPaused = true
	for _, ln := range lp.listeners {
		lp.l.DelEvent(ln.fd, event.Readable)
	}
	lp.retryTimer, _ = lp.l.AddTimer(acceptRetry, func(*aeloop.Loop, int64, any) time.Duration {
		lp.retryTimer = -1
		lp.resumeAccept()
		return aeloop.NoMore
	}, nil, nil)
}

func (lp *Loop[T]) resumeAccept() {
	if !lp.acceptPaused || lp.closing {
		return
	}
	lp.acceptPaused = false
	if lp.retryTimer >= 0 {
		lp.l.DelTimer(lp.retryTimer)
		lp.retryTimer = -1
	}
	for _, ln := range lp.listeners {
		if err := lp.watchListener(ln.fd); err != nil {
			lp.s.report(fmt.Errorf("aeconn: watch listener again: %w", err))
		}
		if lp.edge && !slices.Contains(lp.acceptAgain, ln.fd) {
			// Connections that queued meanwhile make no new edge.
			lp.acceptAgain = append(lp.acceptAgain, ln.fd)
		}
	}
}

// adopt makes an accepted fd a conn of this loop (counted in clients
// already).
func (lp *Loop[T]) adopt(fd int, tcp bool) {
	if lp.closing {
		lp.s.clients.Add(-1)
		anet.Close(fd)
		return
	}
	if tcp && !lp.s.cfg.KeepNagle {
		anet.TCPNoDelay(fd, true)
	}
	c := &Conn[T]{lp: lp, fd: fd, last: lp.now, accepted: true}
	if err := lp.register(c); err != nil {
		lp.s.clients.Add(-1)
		anet.Close(fd)
		lp.s.report(fmt.Errorf("aeconn: register conn: %w", err))
		return
	}
	lp.add(c)
	if h := lp.s.h.OnOpen; h != nil {
		h(c)
	}
	if !c.closed {
		c.afterCallback()
	}
}

func (lp *Loop[T]) register(c *Conn[T]) error {
	if err := lp.fit(c.fd); err != nil {
		return err
	}
	return lp.l.AddEvent(c.fd, event.Readable, readProc[T], c)
}

func (lp *Loop[T]) add(c *Conn[T]) {
	c.idx = len(lp.conns)
	lp.conns = append(lp.conns, c)
}

// remove takes c out of the conn list.
func (lp *Loop[T]) remove(c *Conn[T]) {
	last := lp.conns[len(lp.conns)-1]
	lp.conns[c.idx] = last
	last.idx = c.idx
	lp.conns[len(lp.conns)-1] = nil
	lp.conns = lp.conns[:len(lp.conns)-1]
	if len(lp.conns) == 0 && cap(lp.conns) > 1024 {
		lp.conns = nil
	}
}

// beforeSleep serves what edge-triggered events left unread, then sends
// the output of this iteration straight to the sockets, and watches for
// writability only where the kernel did not take it all
// (handleClientsWithPendingWrites).
func (lp *Loop[T]) beforeSleep() {
	if lp.edge {
		lp.serveLeftovers()
	}
	if h := lp.s.h.BeforeSleep; h != nil {
		h(lp)
	}
	// By index: a conn whose reading resumes in flush may queue itself
	// again, and is flushed in this same pass.
	for i := 0; i < len(lp.pending); i++ {
		c := lp.pending[i]
		lp.pending[i] = nil
		c.queued = false
		if c.closed || c.connecting {
			continue
		}
		c.flush()
		if c.closed || c.writing || c.sent == len(c.out) {
			continue
		}
		if err := lp.l.AddEvent(c.fd, event.Writable, writeProc[T], c); err != nil {
			c.close(err)
			continue
		}
		c.writing = true
	}
	lp.pending = lp.pending[:0]
	lp.Publish()
}

func (lp *Loop[T]) serveLeftovers() {
	if fds := lp.acceptAgain; len(fds) > 0 {
		lp.acceptAgain = nil
		for _, fd := range fds {
			if !lp.acceptPaused {
				lp.accept(fd)
			}
		}
	}
	again := lp.readAgain
	lp.readAgain = lp.readSpare[:0]
	for _, c := range again {
		c.readAgain = false
		if c.canRead() {
			c.readInput()
		}
	}
	clear(again)
	lp.readSpare = again[:0] // the two lists take turns: nothing allocated
	lp.l.SetDontWait(len(lp.readAgain) > 0 || len(lp.acceptAgain) > 0)
}

// cron closes idle conns, evicts for MaxMemory, releases memory and trims
// the buffer pool.
func (lp *Loop[T]) cron() {
	if idle := lp.s.cfg.IdleTimeout; idle > 0 {
		// The iteration's clock, as the conns' activity: a conn served
		// in this iteration is not idle however long the iteration took.
		now := lp.now
		for i := 0; i < len(lp.conns); {
			c := lp.conns[i]
			if !c.connecting && time.Duration(now-c.last) > idle {
				c.close(ErrIdle) // moves the last conn to i
				continue
			}
			i++
		}
	}
	s := lp.s
	if s.cfg.MaxMemory > 0 || (s.cfg.ReleaseMemory && lp.id == 0) {
		var mem int64
		for _, c := range lp.conns {
			mem += int64(c.Memory())
		}
		lp.connMem.Store(mem)
		if s.cfg.MaxMemory > 0 {
			lp.evict(s.cfg.MaxMemory)
		}
		if s.cfg.ReleaseMemory && lp.id == 0 {
			s.mem.check(time.Now(), s.connMemory())
		}
	}
	lp.outPeaks[lp.peakNext] = lp.outPeak
	lp.peakNext = (lp.peakNext + 1) % len(lp.outPeaks)
	keep := slices.Max(lp.outPeaks) - lp.outInUse
	if keep < len(lp.free) {
		clear(lp.free[keep:])
		lp.free = lp.free[:keep]
		if keep == 0 {
			lp.free = nil
		}
	}
	lp.outPeak = lp.outInUse
}

// evict closes this loop's conns holding the most while all loops' conns
// together hold more than limit (Config.MaxMemory).
func (lp *Loop[T]) evict(limit int64) {
	s := lp.s
	total := s.connMemory()
	if total <= limit {
		return
	}
	type sized struct {
		c   *Conn[T]
		mem int64
	}
	big := make([]sized, 0, len(lp.conns))
	for _, c := range lp.conns {
		big = append(big, sized{c, int64(c.Memory())})
	}
	slices.SortFunc(big, func(a, b sized) int { return cmp.Compare(b.mem, a.mem) })
	own := lp.connMem.Load()
	for _, e := range big {
		if total <= limit || e.mem == 0 {
			break
		}
		s.evicted.Add(1)
		e.c.close(fmt.Errorf("%w: it held %d bytes, all conns %d, the limit %d", ErrEvicted, e.mem, total, limit))
		total -= e.mem
		own -= e.mem
	}
	lp.connMem.Store(own)
}

// getOut returns an empty output buffer.
func (lp *Loop[T]) getOut() []byte {
	lp.outInUse++
	lp.outPeak = max(lp.outPeak, lp.outInUse)
	if n := len(lp.free); n > 0 {
		b := lp.free[n-1]
		lp.free[n-1] = nil
		lp.free = lp.free[:n-1]
		return b
	}
	return make([]byte, 0, firstOut)
}

// putOut takes back a buffer from getOut.
func (lp *Loop[T]) putOut(b []byte) {
	lp.outInUse--
	if cap(b) <= pooledMax && !lp.closing {
		lp.free = append(lp.free, b[:0])
	}
}

// close closes every conn and listener, then the loop; the loop does not
// run.
func (lp *Loop[T]) close() error {
	lp.closing = true
	for len(lp.conns) > 0 {
		lp.conns[len(lp.conns)-1].close(ErrClosed)
	}
	for _, ln := range lp.listeners {
		lp.l.DelEvent(ln.fd, event.Readable)
		anet.Close(ln.fd)
	}
	lp.listeners = nil
	closeSpare(lp.spare)
	lp.spare = -1
	err := lp.l.Close() // runs what was posted: conns handed over are closed
	if errors.Is(err, mux.ErrClosed) {
		err = nil
	}
	lp.free = nil
	return err
}
