package aeconn

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/anet"
	"github.com/aemux/mux/event"
)

// Handler is what a Server calls, on the loop goroutine of the conn
// concerned (except OnClose for the conns Server.Close closes: that runs on
// Close's goroutine, once the loops have stopped). Only OnData is required.
// No callback may block: the loop waits for it, and so do all its conns.
type Handler[T any] struct {
	// OnOpen is called once a conn is accepted, or connected by Dial,
	// before its first OnData. It may set c.Data, write and close.
	OnOpen func(c *Conn[T])
	// OnData gets the bytes that came in and not yet consumed, and returns
	// how many of them it consumed (0 to len(in)); the rest comes again,
	// with what follows, in the next call. in belongs to the layer: it is
	// valid only during the call (most often it is the loop's own read
	// buffer), so keep a copy of what must outlive it.
	OnData func(c *Conn[T], in []byte) int
	// OnClose is called once when a conn is gone: closed by Close or
	// CloseAfterWrite (err nil), by its peer (io.EOF), a failed read or
	// write (the errno), a limit (ErrOutputLimit, ErrInputLimit, ErrIdle),
	// a failed or timed out Dial, or Server.Close (ErrClosed). The fd is
	// closed already; c.Data is still there, and c.Unsent and c.Buffered
	// still report the output and input the close dropped (for a log
	// line; ErrOutputLimit's output was dropped when it passed the limit),
	// until OnClose returns.
	OnClose func(c *Conn[T], err error)
	// OnReject is called with the fd of a connection refused because
	// MaxClients are connected, just before it is closed: a best-effort
	// anet.Write of an error message is what Redis does. nil closes it
	// silently.
	OnReject func(fd int)
	// OnError gets what goes wrong outside a conn: a failed accept, the
	// ErrAcceptPaused and ErrMaxClientsLowered notices, a conn that could
	// not be registered. The layer logs nothing itself; whatever OnError
	// does must not block the loop (hand the error to a goroutine, or
	// count it). nil drops them.
	OnError func(err error)
	// Footprint returns the memory the program holds for a conn beyond
	// the layer's buffers (a parser's argument list, say), counted with
	// them against Config.MaxMemory and in Conn.Memory. nil counts none.
	Footprint func(c *Conn[T]) int
	// BeforeSleep is called on each loop once per iteration, after the
	// events and timers of the iteration ran and before their output is
	// sent (Redis's beforeSleep, which ends by writing the clients'
	// replies): the place for work done once per batch of events rather
	// than once per read, such as publishing counters. Writes it makes
	// go out in the same pass. nil does nothing.
	BeforeSleep func(lp *Loop[T])
}

// Stats are a Server's counters since New, summed over its loops (Redis's
// INFO stats). The byte counts of a loop are published once per iteration,
// and at once by Loop.Publish.
type Stats struct {
	Accepted uint64 // connections accepted, those refused included
	Rejected uint64 // refused: MaxClients reached, or out of fds (RejectOutOfFds)
	Evicted  uint64 // closed for Config.MaxMemory
	BytesIn  uint64 // read from conns
	BytesOut uint64 // written to conns
}

// Server runs Config.Loops event loops and their conns: accepted from the
// listeners of Config.Listen, or made by Dial. T is the type of each
// conn's Data, which every callback reaches as c.Data.
type Server[T any] struct {
	cfg        Config
	h          Handler[T]
	loops      []*Loop[T]
	maxClients int
	clients    atomic.Int64 // accepted conns open, all loops
	addrs      []string
	unixPaths  []string
	next       atomic.Uint32 // Dial's and the hand-off's round robin
	accepted   atomic.Uint64
	rejected   atomic.Uint64
	evicted    atomic.Uint64
	mem        memCheck // Config.ReleaseMemory, run by loop 0's cron

	mu      sync.Mutex
	serving bool
	done    chan struct{} // closed when Serve returns
	closed  bool
}

// New opens the loops and the listeners of cfg. The conns are served by
// Serve; Close releases everything.
func New[T any](cfg Config, h Handler[T]) (*Server[T], error) {
	if h.OnData == nil {
		return nil, fmt.Errorf("aeconn: Handler.OnData is nil: %w", aeloop.ErrNilFunc)
	}
	cfg = cfg.withDefaults()
	s := &Server[T]{cfg: cfg, h: h}
	s.maxClients = fitClients(cfg.MaxClients, cfg.Loops, len(cfg.Listen), s.report)
	for i := 0; i < cfg.Loops; i++ {
		lp, err := newLoop(s, i)
		if err != nil {
			s.closeAll()
			return nil, err
		}
		s.loops = append(s.loops, lp)
	}
	for _, ln := range cfg.Listen {
		if err := s.listen(ln); err != nil {
			s.closeAll()
			return nil, err
		}
	}
	return s, nil
}

// spreads is true where the kernel spreads the connections of a port over
// the listeners sharing it (see anet's platform table).
const spreads = runtime.GOOS == "linux" || runtime.GOOS == "freebsd"

// listen opens ln: on every loop where the kernel spreads accepts, else
// on the first loop only.
func (s *Server[T]) listen(ln Listen) error {
	backlog := s.cfg.Backlog
	switch ln.Network {
	case "tcp", "tcp4", "tcp6":
		many := spreads && len(s.loops) > 1
		addr := ln.Addr
		for i, lp := range s.loops {
			if i > 0 && !many {
				break
			}
			fd, err := anet.TCPServer(addr, anet.ListenOptions{Backlog: backlog, ReusePort: many, V6Only: ln.Network == "tcp6"})
			if err != nil {
				return err
			}
			if err := lp.addListener(fd, true); err != nil {
				anet.Close(fd)
				return err
			}
			if i == 0 {
				local, err := anet.LocalAddr(fd)
				if err != nil {
					return err
				}
				s.addrs = append(s.addrs, local)
				if port, err := anet.Port(fd); err == nil {
					// Port 0 asked for any port: the other loops share it.
					host, _, _ := net.SplitHostPort(addr)
					addr = net.JoinHostPort(host, strconv.Itoa(port))
				}
			}
		}
		return nil
	case "unix":
		perm := ln.Perm
		if perm == 0 {
			perm = 0o700
		}
		fd, err := anet.UnixServer(ln.Addr, perm, anet.ListenOptions{Backlog: backlog})
		if err != nil {
			return err
		}
		if len(ln.Addr) > 0 && ln.Addr[0] != '@' {
			s.unixPaths = append(s.unixPaths, ln.Addr)
		}
		if err := s.loops[0].addListener(fd, false); err != nil {
			anet.Close(fd)
			return err
		}
		s.addrs = append(s.addrs, ln.Addr)
		return nil
	}
	return fmt.Errorf("%w: %q", ErrNetwork, ln.Network)
}

// report hands err to OnError, if set.
func (s *Server[T]) report(err error) {
	if s.h.OnError != nil {
		s.h.OnError(err)
	}
}

// Addrs returns the addresses listened on, in Config.Listen's order, with
// the port the kernel chose where Listen asked for port 0.
func (s *Server[T]) Addrs() []string { return append([]string(nil), s.addrs...) }

// MaxClients returns the limit of accepted conns in force: Config's, or
// lower when the fd limit did not allow it.
func (s *Server[T]) MaxClients() int { return s.maxClients }

// Clients returns how many accepted conns are open, on all loops. Safe
// from any goroutine.
func (s *Server[T]) Clients() int { return int(s.clients.Load()) }

// connMemory sums what the loops' conns held at their last cron.
func (s *Server[T]) connMemory() (n int64) {
	for _, lp := range s.loops {
		n += lp.connMem.Load()
	}
	return n
}

// Stats returns the Server's counters. Safe from any goroutine. Each loop
// publishes its BytesIn and BytesOut once per iteration, before it next
// polls (and on Loop.Publish), so they can lag the callbacks of the running
// iteration.
func (s *Server[T]) Stats() Stats {
	st := Stats{Accepted: s.accepted.Load(), Rejected: s.rejected.Load(), Evicted: s.evicted.Load()}
	for _, lp := range s.loops {
		st.BytesIn += lp.bytesIn.Load()
		st.BytesOut += lp.bytesOut.Load()
	}
	return st
}

// Releases returns how many times ReleaseMemory gave memory back to the
// OS. Safe from any goroutine.
func (s *Server[T]) Releases() uint64 { return s.mem.runs.Load() }

// Loops returns the Server's loops.
func (s *Server[T]) Loops() []*Loop[T] { return append([]*Loop[T](nil), s.loops...) }

// Serve runs every loop, each on its own goroutine (locked to its OS
// thread while there are no more loops than GOMAXPROCS), and returns when
// all have stopped: nil after Stop or Close, or the first error of a loop
// (which stops the others).
func (s *Server[T]) Serve() error {
	s.mu.Lock()
	if s.closed || s.serving {
		s.mu.Unlock()
		return ErrClosed
	}
	s.serving = true
	s.done = make(chan struct{})
	s.mu.Unlock()
	defer close(s.done)
	lock := len(s.loops) <= runtime.GOMAXPROCS(0)
	errs := make(chan error, len(s.loops))
	for _, lp := range s.loops {
		go func() {
			if lock {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			err := lp.l.Main()
			if errors.Is(err, mux.ErrClosed) {
				err = nil
			}
			if err != nil {
				s.Stop()
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

// Stop makes Serve return once every loop has finished its current
// iteration; the conns stay open until Close. Safe from any goroutine, at
// any time, also before Serve starts (Serve then returns at once).
func (s *Server[T]) Stop() {
	for _, lp := range s.loops {
		lp.l.RequestStop()
	}
}

// Close stops the Server, waits for Serve to return if it is running,
// then closes every conn (OnClose gets ErrClosed), listener and loop, and
// removes the Unix socket files it made. Safe from any goroutine except
// the loops' own (where it would wait for itself): a callback stops the
// Server with Stop. A second Close returns ErrClosed.
func (s *Server[T]) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	done := s.done
	s.mu.Unlock()
	s.Stop()
	if done != nil {
		<-done
	}
	return s.closeAll()
}

// closeAll releases the loops; no loop runs.
func (s *Server[T]) closeAll() error {
	var first error
	for _, lp := range s.loops {
		if err := lp.close(); err != nil && first == nil {
			first = err
		}
	}
	for _, p := range s.unixPaths {
		os.Remove(p)
	}
	s.unixPaths = nil
	s.mem.wait()
	return first
}

// Dial starts a connection to address on one of the loops, in turn, as
// Loop.Dial does; safe from any goroutine. Its outcome reaches OnOpen or
// OnClose; an error Loop.Dial returns at once reaches OnError. It returns
// an error matching ErrClosed (and mux.ErrClosed) when the loop is closed.
func (s *Server[T]) Dial(network, address string, timeout time.Duration, data T) error {
	lp := s.loops[int(s.next.Add(1)-1)%len(s.loops)]
	return lp.Post(func(lp *Loop[T]) {
		if _, err := lp.Dial(network, address, timeout, data); err != nil && !lp.closing {
			s.report(fmt.Errorf("aeconn: dial %s %s: %w", network, address, err))
		}
	})
}

// handOff gives an accepted fd to the next loop in turn (the accepting loop
// included) when the kernel does not spread accepts itself.
func (s *Server[T]) handOff(from *Loop[T], fd int, tcp bool) {
	if len(s.loops) == 1 {
		from.adopt(fd, tcp)
		return
	}
	to := s.loops[int(s.next.Add(1)-1)%len(s.loops)]
	if to == from {
		from.adopt(fd, tcp)
		return
	}
	if err := to.l.Post(func(*aeloop.Loop) { to.adopt(fd, tcp) }); err != nil {
		s.clients.Add(-1)
		anet.Close(fd)
	}
}

// maskRW is both directions.
const maskRW = event.Readable | event.Writable
